"""Split a shell script into simple commands, each with its line, for rules over `run:` scripts.

Not a shell: a small tokenizer that knows what decides whether `kubectl apply` is a command
or an argument: quotes, comments, `\\` line continuations, `&&`/`||`/`;`/`|` chains, heredoc
bodies (skipped: they are data), redirections, `sh -c '...'`, wrappers such as `sudo` and
`env X=1`, shell keywords (`then kubectl apply`). Each command also gets its positional words
with the values of known value-taking flags removed, so `helm -n prod upgrade web ./chart`
has the signature `helm upgrade web ./chart`.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from gatekeeper import lazy_re, shell_dirs, shell_names

_OPERATORS = ("&&", "||", ";;", "|&", ";", "|", "&", "(", ")")
_REDIRECTS = ("<<<", "<<-", "&>>", "<<", ">>", ">&", "<&", "&>", ">|", "<>", ">", "<")
_OPERATOR_CHARS = frozenset("".join(_OPERATORS + _REDIRECTS))
_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_ENDINGS = frozenset({"fi", "done", "esac", "}", "in"})
_FD_CHARS = frozenset("0123456789-")
# A run of characters the lexer adds to the word as they are: none that quotes, escapes,
# expands, separates or may start an operator or a comment (`-` starts none).
_ORDINARY = lazy_re.compile(r"[^\\\n \t\r#'\"`$<>|&;()]*")
# A run of characters a double-quoted string holds as they are (no escape, expansion, end
# of the string or of a line).
_PLAIN_QUOTED = lazy_re.compile(r'[^"\\$`\n]*')
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ash", "ksh"})
_ASSIGNMENT = lazy_re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# Wrappers that run their argument as a command, with their own value-taking flags.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "--user", "-g", "--group", "-h", "--host", "-C", "-D", "-p", "-r"}),
    "env": frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
    "exec": frozenset({"-a"}),
    "command": frozenset(),
    "nohup": frozenset(),
    "time": frozenset({"-f", "--format", "-o", "--output"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "timeout": frozenset({"-s", "--signal", "-k", "--kill-after"}),
    "xargs": frozenset(
        {"-I", "-i", "-n", "-L", "-P", "-d", "-E", "-s", "-a", "--max-args", "--max-procs"}
    ),
    "retry": frozenset({"-t", "--times", "-d", "--delay"}),
    "sshpass": frozenset({"-p", "-f", "-d", "-P"}),
    # Buffering, sessions, I/O priority, locks, schedules (red team r14).
    "stdbuf": frozenset({"-i", "-o", "-e", "--input", "--output", "--error"}),
    "setsid": frozenset(),
    "ionice": frozenset({"-c", "--class", "-n", "--classdata", "-p", "-P", "-u"}),
    "unbuffer": frozenset(),
    "chronic": frozenset(),
    "doas": frozenset({"-u", "-C"}),
    "watch": frozenset({"-n", "--interval", "-d", "--differences", "-q", "--equexit"}),
    "flock": frozenset({"-w", "--timeout", "-E", "--conflict-exit-code"}),
    "coproc": frozenset(),
    # Users, roots, CPUs, namespaces, tracers, sessions, proxies (red team r14).
    "gosu": frozenset(),
    "su-exec": frozenset(),
    "s6-setuidgid": frozenset(),
    "setuidgid": frozenset(),
    "chroot": frozenset({"--userspec", "--groups"}),
    "runuser": frozenset({"-u", "--user", "-g", "--group", "-G", "--supp-group"}),
    "setpriv": frozenset({"--reuid", "--regid", "--groups", "--inh-caps", "--bounding-set"}),
    "taskset": frozenset(),
    "chrt": frozenset(),
    "numactl": frozenset({"-C", "--physcpubind", "-N", "--cpunodebind", "-m", "--membind"}),
    "nsenter": frozenset({"-t", "--target", "-S", "--setuid", "-G", "--setgid", "-w", "--wd"}),
    "unshare": frozenset(),
    "fakeroot": frozenset(),
    "tini": frozenset(),
    "dumb-init": frozenset(),
    "catchsegv": frozenset(),
    "strace": frozenset({"-o", "-e", "-p", "-s", "-u", "-P", "-I", "-b", "-a", "-X"}),
    "ltrace": frozenset({"-o", "-e", "-p", "-s", "-u", "-n", "-a"}),
    "ssh-agent": frozenset({"-a", "-E", "-t", "-P"}),
    "dbus-run-session": frozenset({"--config-file", "--dbus-daemon"}),
    "xvfb-run": frozenset({"-n", "--server-num", "-s", "--server-args", "-e", "-f", "-p"}),
    "firejail": frozenset(),
    "cgexec": frozenset({"-g"}),
    "proxychains": frozenset({"-f"}),
    "proxychains4": frozenset({"-f"}),
    "torsocks": frozenset({"-u", "-p", "-a", "-P"}),
    "trickle": frozenset({"-d", "-u", "-w", "-t", "-l", "-n"}),
    "caffeinate": frozenset({"-t", "-w"}),
    "systemd-run": frozenset({"--unit", "-p", "--property", "--slice", "-E", "--setenv"}),
    "builtin": frozenset(),
}
# Tools whose subcommand runs a command, and the operands before it (a profile, a
# directory): `bundle exec kubectl`, `aws-vault exec prod -- kubectl`, `op run -- helm`.
# A `--` (nix: also `-c`/`--command`) ends their own words wherever it is.
_SUBCOMMAND_WRAPPERS: dict[tuple[str, str], int] = {
    ("bundle", "exec"): 0, ("aws-vault", "exec"): 1, ("op", "run"): 0, ("doppler", "run"): 0,
    ("infisical", "run"): 0, ("pipenv", "run"): 0, ("devbox", "run"): 0, ("mise", "exec"): 0,
    ("mise", "x"): 0, ("asdf", "exec"): 0, ("direnv", "exec"): 1, ("dotenvx", "run"): 0,
    ("teller", "run"): 0, ("chamber", "exec"): 1, ("nix", "develop"): 0, ("nix", "shell"): 0,
    ("kubie", "exec"): 2,  # `kubie exec CONTEXT NAMESPACE kubectl apply ...`
}  # fmt: skip
# Programs that are another one under another name (kubecolor colours kubectl's output).
_SAME_PROGRAM = {"kubecolor": "kubectl", "helm3": "helm"}
# A CLI installed under its version's name (`kubectl-1.29`, `helm-v3.14.0`, `kubectl1.27`,
# `glasskube-v0.20`): CI images keep several side by side, and each is the program it names.
# The cluster CLIs only (`python3` stays python3).
_VERSIONED = lazy_re.compile(
    r"(kubectl|helm|oc|terraform|tofu|terragrunt|helmfile|kustomize|argocd|argo|flux|kapp"
    r"|skaffold|tilt|kompose|velero|glasskube|porter|timoni|helmwave|helmsman|krane|kctrl"
    r"|okteto|vela|pulumi|kpt|werf|devspace|kluctl|clusterctl|kubecfg|talosctl|kops"
    r"|crossplane)[-_]?v?[0-9]+(?:\.[0-9]+)*"
)
# Wrappers whose first plain word is theirs, not the program: `timeout 60 kubectl ...`,
# `flock /tmp/lock kubectl ...`.
_WRAPPER_OPERAND = frozenset(
    {"timeout", "flock", "gosu", "su-exec", "s6-setuidgid", "setuidgid", "chroot", "taskset",
     "chrt"}
)  # fmt: skip
# Programs that run a command string after `-c`, as `sh -c` does: `su -c "kubectl apply"
# user`, `script -qc "helm upgrade ..." /dev/null`.
_COMMAND_STRINGS = frozenset({"su", "script"})
# Launchers whose next word is the real program: `microk8s kubectl apply`, `npx cdk deploy`.
_LAUNCHERS = frozenset({"microk8s", "k3s", "minikube", "npx", "bunx", "pnpx", "busybox", "toybox"})
# CLIs whose `kubectl` subcommand is kubectl aimed at the cluster they manage (red team s24
# trust18 c02): `rancher kubectl apply`, `k0s kubectl apply`.
_KUBECTL_HOSTS = frozenset({"rancher", "k0s"})

_KUBECTL_FLAGS = frozenset(
    {
        "-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s",
        "--server", "--token", "--as", "--as-group", "--as-uid", "--request-timeout",
        "--cache-dir", "--certificate-authority", "--client-certificate", "--client-key",
        "--tls-server-name", "-v", "--v", "-f", "--filename", "-k", "--kustomize", "-l",
        "--selector", "-o", "--output", "--field-manager", "--timeout", "-c", "--container",
        "--type", "-p", "--patch", "--patch-file", "--field-selector", "--grace-period",
        "--to-revision", "--dry-run", "--template", "--prune-allowlist",
    }
)  # fmt: skip
# Global and common flags that take a separate value, per program (`--flag=value` needs none).
VALUE_FLAGS: dict[str, frozenset[str]] = {
    "kubectl": _KUBECTL_FLAGS,
    "oc": _KUBECTL_FLAGS,
    "helm": frozenset(
        {
            "-n", "--namespace", "--kube-context", "--kubeconfig", "--kube-token",
            "--kube-apiserver", "--kube-as-user", "--kube-as-group", "--kube-ca-file",
            "--kube-tls-server-name", "--registry-config", "--repository-cache",
            "--repository-config", "--burst-limit", "--qps", "-f", "--values", "--set",
            "--set-string", "--set-file", "--set-json", "--set-literal", "--version",
            "--timeout", "-o", "--output", "--repo", "--description", "--post-renderer",
            "--post-renderer-args", "--username", "--password", "--ca-file", "--cert-file",
            "--key-file", "--history-max", "--max", "--output-dir", "--api-versions",
            "--kube-version", "--show-only", "-s", "--dry-run",
        }
    ),
    "terraform": frozenset(
        {"-var", "-var-file", "-target", "-replace", "-state", "-state-out", "-backup", "-out",
         "-parallelism", "-lock-timeout"}
    ),
    "tofu": frozenset(
        {"-var", "-var-file", "-target", "-replace", "-state", "-state-out", "-backup", "-out",
         "-parallelism", "-lock-timeout"}
    ),
    # terragrunt passes terraform's own flags on (`terragrunt apply -var public=true`)
    "terragrunt": frozenset(
        {"-var", "-var-file", "-target", "-replace", "-state", "-state-out", "-backup", "-out",
         "-parallelism", "-lock-timeout", "--terragrunt-working-dir", "--working-dir",
         "--terragrunt-config", "--config", "--terragrunt-source", "--source",
         "--terragrunt-source-map", "--source-map"}
    ),
    "argocd": frozenset(
        {
            "--server", "--auth-token", "--grpc-web-root-path", "--config", "--context",
            "--port-forward-namespace", "--revision", "--local", "--resource", "-l",
            "--selector", "--timeout", "--loglevel", "--retry-limit", "-H", "--header", "-p",
            "--parameter", "--helm-set", "--helm-set-string", "--values", "--dest-namespace",
            "--dest-server", "--repo", "--path", "--project", "--sync-policy", "-o", "--output",
            "--kube-context", "--app-namespace", "-N",
        }
    ),
    "flux": frozenset({"-n", "--namespace", "--context", "--kubeconfig", "--timeout"}),
    "helmfile": frozenset(
        {"-f", "--file", "-e", "--environment", "-n", "--namespace", "--kube-context", "-l",
         "--selector", "--state-values-set", "--state-values-file", "--helm-binary"}
    ),
    "kustomize": frozenset({"-o", "--output"}),
    # `timoni -n apps apply podinfo ./module`, `kctrl -n apps app deploy ...`
    "timoni": frozenset(
        {"-n", "--namespace", "--kubeconfig", "--kube-context", "--timeout", "--cache-dir"}
    ),
    "kctrl": frozenset({"-n", "--namespace", "--kubeconfig", "--kubeconfig-context"}),
    # `argo -n argo submit`, `velero -n velero restore create`, `porter --namespace prod
    # install` (red team s23 trust17 c05: the verb was read as the namespace's neighbour)
    "argo": frozenset(
        {"-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s",
         "--server", "--token", "--argo-server", "--instanceid", "--loglevel", "--as",
         "--as-group", "--request-timeout", "--argo-base-href"}
    ),
    "velero": frozenset({"-n", "--namespace", "--kubecontext", "--kubeconfig", "--features"}),
    "porter": frozenset({"-n", "--namespace", "--verbosity"}),
    "glasskube": frozenset({"--kubeconfig"}),
    # red team s24 trust18 c02: cluster installers and managers read by their verbs
    "clusterctl": frozenset({"--kubeconfig", "--kubeconfig-context", "--config", "-v"}),
    "kubecfg": frozenset(
        {"--context", "--kubeconfig", "-n", "--namespace", "-J", "--jpath", "-V", "--ext-str",
         "--ext-str-file", "--tla-str", "--tla-code", "--server", "--cluster", "--user"}
    ),
    "talosctl": frozenset(
        {"-n", "--nodes", "-e", "--endpoints", "--talosconfig", "--context", "--cluster"}
    ),
    "kops": frozenset({"--name", "--state", "-v", "--v", "--config"}),
    "crossplane": frozenset({"--kubeconfig", "--context"}),
    "operator-sdk": frozenset({"-n", "--namespace", "--kubeconfig", "--timeout"}),
    "skaffold": frozenset(
        {"-f", "--filename", "-p", "--profile", "-n", "--namespace", "--kube-context",
         "--default-repo", "-t", "--tag"}
    ),
    # HTTP clients: a mutating request to the Kubernetes API is a deploy too.
    "curl": frozenset(
        {"-X", "--request", "-H", "--header", "-d", "--data", "--data-raw", "--data-binary",
         "--data-urlencode", "-o", "--output", "-u", "--user", "-T", "--upload-file", "-F",
         "--form", "--cacert", "--cert", "--key", "-A", "--user-agent", "-m", "--max-time",
         "--connect-timeout", "--retry", "-w", "--write-out", "-e", "--referer"}
    ),
    "wget": frozenset(
        {"-O", "--output-document", "--header", "--method", "--body-data", "--body-file",
         "--post-data", "--post-file", "--ca-certificate", "--certificate", "--private-key"}
    ),
    "apt-get": frozenset({"-o", "-c", "--option", "--config-file", "-t", "--target-release"}),
    "apt": frozenset({"-o", "-c", "--option", "--config-file", "-t", "--target-release"}),
}  # fmt: skip


@dataclass
class Command:
    """One simple command: its words (quotes removed), first line (0-based) and source text."""

    argv: list[str]
    line: int
    text: str
    program: str = ""
    args: list[str] = field(default_factory=list)
    positional: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    wrappers: list[str] = field(default_factory=list)  # `sudo`, `env`... that ran the program
    # Where its output goes (`>> "$GITHUB_OUTPUT"`; `| tee -a FILE` counts; in the CEL view
    # only when there is one) and the heredoc it reads (`cat >> "$GITHUB_OUTPUT" <<EOF`: not).
    redirects: list[str] = field(default_factory=list)
    input: str = ""
    # The file its standard input reads, from the root (`$?` unknown): `< FILE`, or `cat
    # FILE |` before it (`docker build -f - . < docker/prod` builds docker/prod).
    reads: str = ""
    # A shell running a payload decoded at run time (`echo "$P" | base64 -d | sh`): its
    # text is the whole pipeline; what it runs cannot be read.
    opaque: bool = False
    # The folder it runs in, from the repository root (shell_dirs): `cd docker && docker
    # build -f prod .` builds docker/prod; None when the script computes it.
    directory: str | None = "."
    # A script the shell sourced before it that the repository lacks (shell_dirs.lacked):
    # the folder it runs in is taken as if that script moved none.
    unread: str = ""
    # The program its standard output is piped into when that applies objects (`sed
    # 's/false/true/' deploy/app.yaml | kubectl apply -f -`: ci_edits judges the edit).
    into: str = ""

    @property
    def signature(self) -> str:
        return " ".join([self.program, *self.positional])

    @property
    def _keeps_input(self) -> bool:
        return (
            self.program in _READS_OBJECTS
            or (self.program == "cat" and bool(self.redirects))
            or (self.program == "helm" and "-" in self.args)  # `-f -`: values it reads
        )

    def as_dict(self, line_base: int = 0) -> dict[str, Any]:
        """The CEL view; `name` is the text so fingerprints name the command, not its index."""
        return {
            "name": self.text,
            "text": self.text,
            "line": self.line + line_base,
            "argv": self.argv,
            "program": self.program,
            "args": self.args,
            "positional": self.positional,
            "flags": self.flags,
            "wrappers": self.wrappers,
            "signature": self.signature,
            "opaque": self.opaque,
            "directory": self.directory,
            **({"reads": self.reads} if self.reads else {}),
            **({"unread": self.unread} if self.unread else {}),
            # the files it redirects to or from, for what made a file kubectl applies
            **({"redirects": self.redirects} if self.redirects else {}),
            **({"into": self.into} if self.into else {}),
            # the objects kubectl reads from its standard input (kubectl_inline), and the text
            # `cat > FILE <<EOF` writes (ci_edits: a manifest replaced before it is applied)
            **({"input": self.input} if self.input and self._keeps_input else {}),
        }


@dataclass
class _Word:
    """A word of a shell command as the lexer read it, with where it stands in the script."""

    text: str
    line: int
    start: int
    end: int


class _Lexer:
    def __init__(self, script: str) -> None:
        self.s = script
        self.i = 0
        self.line = 0
        self.commands: list[tuple[list[_Word], list[tuple[str, int]]]] = []
        self.current: list[_Word] = []
        self.substitutions: list[tuple[str, int]] = []  # (script, line) run by this command
        self.word: list[str] = []
        self.word_start = -1
        self.word_line = 0
        self.redirect_target = False  # the next word is a redirection target, not an argument
        self.heredoc_next = False  # ... and it is a heredoc delimiter
        self.heredoc_strip = False
        self.here_string = False  # ... and it is a here-string (`<<<`)
        # delimiter, strip tabs, fed to a shell, index of the command reading it
        self.heredocs: list[tuple[str, bool, bool, int]] = []
        self.inputs: dict[int, str] = {}  # command index -> the heredoc body it reads
        self.piped: list[bool] = []  # per command: its standard input is the previous one's
        self.redirected: list[list[str]] = []  # per command: its output redirection targets
        self.targets: list[str] = []
        self.pipe_pending = False
        self.level = 0  # subshells `( ... )` open
        self.levels: list[int] = []  # per command: the subshells it runs in
        self.cases: list[int] = []  # the levels of the `case` statements open: `x)` ends a pattern
        self.bodies: set[int] = set()  # commands that begin a function's body (`f() {`)
        self.reading = False  # the redirection target is the file standard input reads
        self.reads: dict[int, str] = {}  # command index -> that file (`< docker/prod`)
        self.opened = -1  # where the last `(` ended: `()` right after it defines a function
        # Per `{` open: whether it opened a subshell level (a group a pipe feeds runs in a
        # subshell of its own: `echo y | { cd infra && terraform apply; }`).
        self.groups: list[bool] = []
        self.grouped: set[int] = set()  # commands that begin such a group
        # The commands where the compound commands open (`{`, `if`, loops, `case`) began, and
        # the one the last command closed (first, last command): piped on, it ran in a
        # subshell of its own (`{ cd deploy; ...; } | tee log` leaves the folder as it was).
        self.compounds: list[tuple[int, bool]] = []  # (command, whether a pipe feeds it)
        self.closed: tuple[int, int] | None = None

    def run(self) -> list[tuple[list[_Word], list[tuple[str, int]]]]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == "\\" and self.i + 1 < len(s):
                if s[self.i + 1] == "\n":
                    self.i += 2
                    self.line += 1
                    continue
                self._begin()
                self.word.append(s[self.i + 1])
                self.i += 2
            elif c == "\n":
                self._end_word()
                self._end_command()
                self.i += 1
                self.line += 1
                self._skip_heredocs()
            elif c in " \t\r":
                self._end_word()
                self.i += 1
            elif c == "#" and not self.word:
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            elif c == "'":
                self._begin()
                end = s.find("'", self.i + 1)
                end = len(s) if end < 0 else end
                self._take(s[self.i + 1 : end])
                self.i = end + 1
            elif c == '"':
                self._begin()
                self._double_quoted()
            elif c == "`" or (c == "$" and s.startswith(("$(", "${"), self.i)):
                self._begin()
                self._substitution()
            elif c == "$" and s.startswith("$'", self.i):  # ANSI-C quoting: $'\x6b...'
                self._begin()
                end, text = shell_names.ansi_c(s, self.i + 2)
                self._take(text)
                self.i = end
            elif c in "<>" and s.startswith(("<(", ">("), self.i) and not self.word:
                self._begin()  # process substitution: `. <(...)`
                self._substitution()
            elif self._operator():
                continue
            else:  # this character and the ordinary ones after it, at once
                self._begin()
                end = _ORDINARY.match(s, self.i + 1).end()  # type: ignore[union-attr]
                self.word.append(s[self.i : end])
                self.i = end
        self._end_word()
        self._end_command()
        return self.commands

    def _begin(self) -> None:
        if self.word_start < 0:
            self.word_start, self.word_line = self.i, self.line

    def _take(self, text: str) -> None:
        self.word.append(text)
        self.line += text.count("\n")

    def _double_quoted(self) -> None:
        s, i = self.s, self.i + 1
        out: list[str] = []
        while i < len(s) and s[i] != '"':
            end = _PLAIN_QUOTED.match(s, i).end()  # type: ignore[union-attr]
            if end > i:  # characters taken as they are, at once
                out.append(s[i:end])
                i = end
                continue
            if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in '"\\$`\n':
                if s[i + 1] != "\n":
                    out.append(s[i + 1])
                else:
                    self.line += 1
                i += 2
                continue
            if s.startswith("$(", i) or s[i] == "`":
                end = skip_substitution(s, i)
                self._record(i, end)
                out.append(s[i:end])
                self.line += s.count("\n", i, end)
                i = end
                continue
            if s[i] == "\n":
                self.line += 1
            out.append(s[i])
            i += 1
        self.word.append("".join(out))
        self.i = i + 1

    def _substitution(self) -> None:
        """`$(...)`, `${...}`, backticks or `<(...)`, kept verbatim as part of the word."""
        s, start = self.s, self.i
        end = skip_substitution(s, start)
        text = s[start:end]
        if not text.startswith("${"):
            self._record(start, end)
        self.line += text.count("\n")
        self.word.append(text)
        self.i = end

    def _record(self, start: int, end: int) -> None:
        """A command substitution: its script runs too, so it is split into commands as well."""
        text = self.s[start:end]
        inner = text[1:-1] if text.startswith("`") else text[2:-1]
        self.substitutions.append((inner, self.line))

    def _operator(self) -> bool:
        s, i = self.s, self.i
        if s[i] not in _OPERATOR_CHARS:
            return False
        for op in _REDIRECTS:
            if s.startswith(op, i):
                if self.word and "".join(self.word).isdigit():  # `2>&1`: drop the fd
                    self.word, self.word_start = [], -1
                self._end_word()
                self.i += len(op)
                if op in (">&", "<&") and s[self.i : self.i + 1] in _FD_CHARS:
                    while s[self.i : self.i + 1] in _FD_CHARS:
                        self.i += 1
                    return True
                self.redirect_target = True
                self.heredoc_next = op in ("<<", "<<-")
                self.heredoc_strip = op == "<<-"
                self.here_string = op == "<<<"
                self.reading = op == "<"
                return True
        for op in _OPERATORS:
            if s.startswith(op, i):
                self._end_word()
                self._end_command()
                self.pipe_pending = op in ("|", "|&")
                if self.pipe_pending and self.closed and self.closed[1] == len(self.levels) - 1:
                    self._in_subshell(*self.closed)  # piped on: a subshell of its own
                self.closed = None
                self.i += len(op)
                if op == "(":
                    self.level += 1
                    self.opened = self.i
                elif op == ")" and self.level and not (self.cases and self.cases[-1] == self.level):
                    self.level -= 1
                    if not s[self.opened : i].strip():
                        self.bodies.add(len(self.commands))
                return True
        return False

    def _in_subshell(self, first: int, last: int) -> None:
        """The commands `first`..`last` (a compound command that is a pipeline's part) run
        in a subshell: a `cd` there does not last after it."""
        for index in range(first, last + 1):
            self.levels[index] += 1

    def _feeds_shell(self) -> bool:
        """Whether the command being read is a shell reading its script from its input."""
        return bool(self.current) and posixpath.basename(self.current[0].text) in SHELLS

    def _end_word(self) -> None:
        if self.word_start < 0:
            return
        text = "".join(self.word)
        word = _Word(text, self.word_line, self.word_start, self.i)
        self.word, self.word_start = [], -1
        if self.redirect_target:
            self.redirect_target = False
            if self.heredoc_next:
                reader = len(self.commands)
                self.heredocs.append((text, self.heredoc_strip, self._feeds_shell(), reader))
                self.heredoc_next = False
            elif self.here_string and self._feeds_shell():  # `bash <<< "kubectl apply"`
                self.substitutions.append((text, self.word_line))
            elif self.here_string:  # `base64 -d <<< TEXT`: what the command reads
                self.inputs[len(self.commands)] = text
            else:
                self.targets.append(text)
                if self.reading:
                    self.reads[len(self.commands)] = text
            self.here_string = False
            return
        self.current.append(word)

    def _end_command(self) -> None:
        if self.current:
            first = self.current[0].text
            self.closed = None
            piped_in = False  # a compound a pipe feeds: a subshell of its own too
            if first in _COMPOUNDS:
                self.compounds.append((len(self.commands), self.pipe_pending))
            elif first in _BLOCK_ENDS and self.compounds:
                began, piped_in = self.compounds.pop()
                self.closed = (began, len(self.commands))
            if first == "{":
                self.groups.append(self.pipe_pending)
                if self.pipe_pending:
                    self.level += 1
                    self.grouped.add(len(self.commands))
            elif first == "}" and self.groups and self.groups.pop():
                self.level -= 1
            self.commands.append((self.current, self.substitutions))
            self.piped.append(self.pipe_pending)
            self.redirected.append(self.targets)
            self.levels.append(self.level)
            if piped_in and self.closed:
                self._in_subshell(*self.closed)
            self.pipe_pending = False
            if first == "case":
                self.cases.append(self.level)
            elif first == "esac" and self.cases:
                self.cases.pop()
        self.current, self.substitutions, self.targets = [], [], []

    def _skip_heredocs(self) -> None:
        """Heredoc bodies are data, unless a shell reads its script from one (`bash <<EOF`):
        then the body runs, as the command's own script."""
        s = self.s
        for delimiter, strip, fed, reader in self.heredocs:
            start, body = self.line, []
            found = shell_names.heredoc_end(delimiter, strip).search(s, self.i)
            if found is not None:  # its lines in one search (a 1.4 MB heredoc of manifests)
                text = s[self.i : max(self.i, found.start() - 1)]
                body = [text] if found.start() > self.i else []
                self.line += s.count("\n", self.i, found.start()) + 1
                self.i = found.end() + 1
            while found is None and self.i < len(s):  # unterminated: to the end, line by line
                end = s.find("\n", self.i)
                end = len(s) if end < 0 else end
                text = s[self.i : end]
                self.i = end + 1
                self.line += 1
                if (text.lstrip("\t") if strip else text).rstrip("\r") == delimiter:
                    break
                body.append(text)
            if fed and self.commands:
                self.commands[-1][1].append(("\n".join(body), start))
            self.inputs[reader] = "\n".join(body)
        self.heredocs = []


def skip_substitution(s: str, i: int) -> int:
    """The index after the `$(...)`, `${...}` or backquoted text starting at `i`.

    Quotes and nested substitutions inside are skipped, so `"$(echo "$x" | tr a b)"` is one.
    """
    if s[i] == "`":
        end = s.find("`", i + 1)
        return len(s) if end < 0 else end + 1
    closing = ")" if s[i + 1] == "(" else "}"
    opening = s[i + 1]
    depth, j = 1, i + 2
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
        elif c == "'" and closing == ")":
            end = s.find("'", j + 1)
            j = len(s) if end < 0 else end + 1
        elif c == '"':
            j = skip_double_quoted(s, j)
        elif s.startswith(("$(", "${"), j) or c == "`":
            j = skip_substitution(s, j)
        else:
            if c == opening:
                depth += 1
            elif c == closing:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
    return len(s)


def skip_double_quoted(s: str, i: int) -> int:
    """The index after the double-quoted text starting at `i` (`\\"` and substitutions
    inside are skipped)."""
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
        elif c == '"':
            return j + 1
        elif s.startswith(("$(", "${"), j) or c == "`":
            j = skip_substitution(s, j)
        else:
            j += 1
    return len(s)


@dataclass
class _Names:
    """What names stand for as a script runs (shell_names): its functions, aliases, loop
    variables and CLIs copied under another name."""

    functions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    loops: dict[str, list[str]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    # Files the script writes (`printf '...' > deploy.sh`, `cat > d.sh <<EOF`), by name.
    written: dict[str, str] = field(default_factory=dict)


def commands(
    script: str,
    variables: dict[str, str] | None = None,
    depth: int = 0,
    names: _Names | None = None,
    written: dict[str, str] | None = None,
    place: shell_dirs.Place | None = None,
    learned: dict[str, str] | None = None,
) -> list[Command]:
    """Every simple command of `script`, in order; lines are 0-based offsets into `script`.
    `variables`: names known to hold a program name (a CI job's `env:`); the script's own
    plain assignments (`k=kubectl`) are added as it goes, so `$k apply` is `kubectl apply`.
    `written`: the files earlier scripts of the job wrote (their text), added to as this
    one writes more: a later step may run them.
    `place`: where the script starts (the root when not given), moved as it runs (`cd`).
    `learned`: given the variables the script has set when it ends (a sourced script's)."""
    found: list[Command] = []
    place = place if place is not None else shell_dirs.Place()
    blocks: list[tuple[str, str | None]] = []  # (kind, folder when it began), see _block
    known = dict(variables or {})
    names = names or _Names(written=written if written is not None else {})
    names.functions.update(shell_names.functions(script))
    lexer = _Lexer(script)
    pipeline: list[Command] = []  # the commands piped into the current one
    start = 0  # where the current pipeline starts in `script`
    lexed = lexer.run()
    for index, ((words, substitutions), piped, targets, level) in enumerate(
        zip(lexed, lexer.piped, lexer.redirected, lexer.levels, strict=True)
    ):
        place.enter(level)
        _block(words[0].text, index in lexer.bodies, place, blocks)
        text = " ".join(script[words[0].start : words[-1].end].replace("\\\n", " ").split())
        start = start if piped else words[0].start
        argv, lines = _expanded_words(words, known, script)
        argv, lines = _named(argv, lines, names)
        command = _command(argv, lines, text)
        chain = pipeline if piped else []
        if command is not None:
            command.redirects = [_VARIABLE.sub(_known_value(known), t) for t in targets]
            command.input = lexer.inputs.get(index, "")
            if chain and not command.input and command.program in _READS_OBJECTS:
                command.input = _output(chain) or ""  # `echo '{...}' | kubectl apply -f -`
                verb = command.positional[0] if command.positional else ""
                if applies_standard_input(verb, command.args):
                    chain[-1].into = command.program
            reads = lexer.reads.get(index, "")  # `< FILE`, opened where the command runs
            command.reads = _read_from(place.here, reads) if reads else ""
            cat = chain[-1] if chain and chain[-1].program == "cat" else None
            if not reads and cat is not None and len(cat.positional) == 1:
                command.reads = _read_from(cat.directory, cat.positional[0])
            if chain and command.program == "tee":  # `echo x | tee -a FILE`
                chain[-1].redirects.extend(command.positional)
            if chain and "xargs" in command.wrappers:  # `echo apply -f x | xargs kubectl`
                given = _output(chain)
                if given is not None and given.split():
                    command = _fed_to_xargs(argv, lines, text, given) or command
        pipeline = [*chain, command] if command is not None else []
        if command is None or command.program in _DECLARATIONS:
            known.update(_assignments(argv))
        elif command.program in ("printf", "read"):  # `printf -v K kubectl`, `read K <<< ...`
            known.update(_read_into(command))
        if command is None:
            continue
        command.directory = place.here
        command.unread = place.unread
        if (
            command.program in _MOVES
            and (not piped or index in lexer.grouped)
            and not (index + 1 < len(lexed) and lexer.piped[index + 1])
        ):  # a pipeline's part runs in a subshell of its own (a `{ ...; }` one: in it)
            searched = "CDPATH" in known  # `cd x` may be a folder below any of CDPATH's
            place.run(command.program, command.args, shell_dirs.segments(names.loops), searched)
        if (
            command.program in _SOURCES
            and depth < 3
            and not piped
            and not (index + 1 < len(lexed) and lexer.piped[index + 1])
        ):
            _source(command, argv, place, known, depth, names)
        if _unreadable(command):
            _opaque(command, script, start, words)
        _learn(command, argv, names)
        if argv[:1] == ["while"] and command.program == "read" and chain:
            _read_lines(command, chain[-1], names)
        elif argv[:1] == ["while"] and command.program == "read":
            _read_file_lines(script, words[0].start, names)
        _remember_written(command, chain, names)
        if command.program == "set" and command.args[:1] == ["--"]:  # `set -- kubectl apply`
            known["@"] = shlex.join(command.args[1:])
        found.append(command)
        found.extend(_loop_variants(command, words, known, script, names, text))
        if depth >= 3:
            continue
        # `$(kubectl ...)` and backticks run commands too, as does `sh -c '...'`, `eval`.
        inner_scripts = list(substitutions)
        evaluated: list[str] = []  # scripts whose `$(...)` are run for their output
        if command.program in _SHELLS_OR_COMMAND_STRINGS:
            evaluated.append(_with_arguments(_after_c(command.args) or "", command.args))
            if chain and not _after_c(command.args):  # `echo '...' | bash`, `... | base64 -d | sh`
                given = _output(chain)
                if given is not None:
                    inner_scripts.append((given, chain[0].line))
                elif any(c.program in shell_names.DECODERS for c in chain):
                    _opaque(command, script, start, words)
        else:  # `pwsh -c`, `cmd /c`, `Invoke-Expression`
            inner_scripts.append((_windows_script(command) or "", command.line))
        if command.program == "az" and command.positional[:3] == ["aks", "command", "invoke"]:
            evaluated.extend(_flag_values(command.args, ("--command", "-c")))  # run in it
        if command.program == "sops" and command.positional[:1] in (["exec-env"], ["exec-file"]):
            evaluated.extend(command.positional[2:3])  # `sops exec-env s.env 'kubectl ...'`
        if command.program == "nix-shell":  # `nix-shell --run "kubectl apply"`
            evaluated.extend(
                command.args[i + 1]
                for i, arg in enumerate(command.args[:-1])
                if arg in ("--run", "--command")
            )
        if command.program in _INTERPRETERS:
            code = _inline_code(command)
            if code is not None and command.program.startswith("python"):
                for nested in python_commands(code):
                    nested.line, nested.directory = command.line, command.directory
                    found.append(nested)
            elif code is not None:  # node -e "execSync('kubectl apply ...')": its strings
                literals = _literals(code)
                inner_scripts.extend((literal, command.line) for literal in literals)
                for nested in code_commands(code):
                    if nested.text not in literals:  # split already as a literal
                        nested.line, nested.directory = command.line, command.directory
                        found.append(nested)
        if command.program == "eval":
            evaluated.append(" ".join(command.args))
        if command.program == "trap" and command.args[:1] not in (["-p"], ["-"], ["-l"]):
            evaluated.extend(command.args[:1])  # trap 'kubectl apply -f x' EXIT
        if command.program in _AWKS and command.positional:  # awk 'BEGIN{system("...")}'
            for nested in code_commands(command.positional[0]):
                nested.line, nested.directory = command.line, command.directory
                found.append(nested)
        ran_file = _written_file(command, argv, names)
        here = -1  # the script of inner_scripts that runs in this shell: a cd there lasts
        if ran_file is not None:  # `printf 'kubectl apply' > d.sh; sh d.sh`: what it wrote
            if command.program in _SOURCES:  # `. d.sh` runs it in this shell
                here = len(inner_scripts)
            inner_scripts.append((ran_file, command.line))
        if command.program in _SHELLS_OR_SOURCES:  # `. <(echo ... | base64 -d)`
            for arg in command.args:
                if arg.startswith("<(") and arg.endswith(")"):
                    ran, opaque = _with_outputs("$(" + arg[2:])
                    if ran != "$(" + arg[2:]:  # its commands were split with the word
                        inner_scripts.append((ran, command.line))
                    if opaque:
                        _opaque(command, script, start, words)
        for text_run in evaluated:
            ran, opaque = _with_outputs(text_run)
            if command.program == "eval":
                here = len(inner_scripts)
            inner_scripts.append((ran, command.line))
            if opaque:
                _opaque(command, script, start, words)
        if command.program == "ssh":  # the remote host runs it too
            inner_scripts.append((" ".join(_remote_command(command.args)), command.line))
        # `find -exec CMD ;`, `docker run IMAGE CMD`, `parallel CMD ::: ARGS`: split like any
        runs = dict.fromkeys(shlex.join(argv) for argv in _run_by(command))
        inner_scripts.extend((run, command.line) for run in _distinct(runs))
        body = names.functions.get(command.program) if "/" not in argv[0] else None
        if body is not None and not _PARENTHESIS_NEXT.match(script, words[-1].end):
            # `k() { kubectl "$@"; }; k apply -f x`: what the call runs, at the call, when
            # the body does not say it already
            spelled = _spelled(body, known)
            call = shell_names.called(body, command.args)
            called = place.inner(place.here)
            for nested in commands(call, known, depth + 1, names, place=called):
                if nested.signature not in spelled:
                    nested.line = command.line
                    found.append(nested)
            place.adopt(called)  # a function runs in the caller's shell: its cd lasts
        for number, (inner, line) in enumerate(inner_scripts):
            inner_place = place.inner(command.directory)
            # (no command of an empty one: each command that is no `pwsh -c` has one, 198,000
            # of kserve's CI scripts' 245,000 readings)
            for nested in (
                commands(inner, known, depth + 1, names, place=inner_place) if inner else ()
            ):
                nested.line += line
                found.append(nested)
            if number == here:
                place.adopt(inner_place)
    if learned is not None:
        learned.update(known)
    return found


# What follows a function's name where it is defined (`k ()`), not called: the rest of the
# script matched where the name ends, never copied (a 2.5 MB script, 641 calls: 0.5 s).
_PARENTHESIS_NEXT = lazy_re.compile(r"\s*\(")
# A function body's own commands' signatures, by body and the values of what it reads of the
# variables (see _spelled); bounded: a run's scripts have a few hundred functions.
_SPELLED: dict[tuple[str, tuple[tuple[str, str | None], ...]], frozenset[str]] = {}
_SPELLED_MAX = 4096
_SPELLED_MAX_BODY = 64 << 10
# The variables a text may read: `$NAME`, `${NAME...}`, `${#NAME}`, the special ones.
_READS_VARIABLE = lazy_re.compile(r"\$\{?#?([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")


def _spelled(body: str, known: dict[str, str]) -> frozenset[str]:
    """The signatures of the commands a function's body spells as written (`commands` at
    depth 3: with no names, files or folder of the caller's), which a call does not repeat.
    Memoised by the body and the values of the variables it reads (IFS always: it splits
    words), since nothing else of the caller's reaches them: kserve's install scripts call
    their 218 functions 32,270 times (7.9 of its CI namespaces' 32 s). An indirect expansion
    (`${!name}`) reads a variable the body does not name: not memoised."""
    if "${!" in body or len(body) > _SPELLED_MAX_BODY:
        return frozenset(nested.signature for nested in commands(body, known, 3))
    names = sorted({*_READS_VARIABLE.findall(body), "IFS"})
    key = (body, tuple((name, known.get(name)) for name in names))
    found = _SPELLED.get(key)
    if found is None:
        found = frozenset(nested.signature for nested in commands(body, known, 3))
        if len(_SPELLED) >= _SPELLED_MAX:
            _SPELLED.clear()
        _SPELLED[key] = found
    return found


def _source(
    command: Command,
    argv: list[str],
    place: shell_dirs.Place,
    known: dict[str, str],
    depth: int,
    names: _Names,
) -> None:
    """`. ci/env.sh`, `source ci/env.sh`: a script of the repository run in this shell, so
    the folder it goes to, the variables it sets and the functions it defines last after
    it (its own commands are followed at their lines by workflow_scripts)."""
    if not command.positional or _written_file(command, argv, names) is not None:
        return
    found = shell_dirs.sourced(place, command.positional[0])
    if found is None:
        place.unread = shell_dirs.lacked(place, command.positional[0]) or place.unread
        return
    path, text = found
    inner = place.inner(place.here)
    inner.script_dir = posixpath.dirname(path) or "."
    commands(text, known, depth + 1, names, place=inner, learned=known)
    place.adopt(inner)


def _read_from(folder: str | None, path: str) -> str:
    """The repository path of a file a command reads from `folder`; `$?` when unknown."""
    resolved = shell_dirs.resolve(folder, path)
    return resolved if shell_dirs.known(resolved) and resolved is not None else "$?"


_CONDITIONALS = frozenset({"if", "case", "while", "until", "for", "select"})
_BLOCK_ENDS = frozenset({"fi", "esac", "done", "}"})
_COMPOUNDS = _CONDITIONALS | {"{"}


def _block(
    first: str, body: bool, place: shell_dirs.Place, blocks: list[tuple[str, str | None]]
) -> None:
    """Follow the blocks a command begins or ends by its first word, for the folder: a `cd`
    in a function's body moves nothing where it is defined; one in a branch or a loop that
    changed the folder by the block's end leaves it unknown (which branch ran is not)."""
    if first in _CONDITIONALS:
        blocks.append(("branch", place.here))
    elif first == "function" or (body and first == "{"):
        blocks.append(("function", place.here))
    elif first == "{":
        blocks.append(("group", place.here))
    elif first in _BLOCK_ENDS and blocks:
        kind, began = blocks.pop()
        if kind == "function":
            place.here = began
        elif kind == "branch" and place.here != began:
            place.here = None


def _flag_values(args: list[str], names: tuple[str, ...]) -> list[str]:
    """The values of flags `names` (`--command X`, `--command=X`)."""
    found = []
    for index, arg in enumerate(args):
        flag, equals, value = arg.partition("=")
        if flag in names and equals:
            found.append(value)
        elif arg in names and index + 1 < len(args):
            found.append(args[index + 1])
    return found


def _fed_to_xargs(argv: list[str], lines: list[int], text: str, given: str) -> Command | None:
    """The command `xargs` runs with the text piped to it: its words appended, or put where
    `-I TOKEN` says (`echo "kubectl apply -f x" | xargs -I{} sh -c '{}'`)."""
    for at, flag in enumerate(argv):
        if flag in ("-I", "--replace") and at + 1 < len(argv):
            token, rest = argv[at + 1], at + 2
        elif flag.startswith("-I") and len(flag) > 2:
            token, rest = flag[2:], at + 1
        else:
            continue
        filled = argv[:rest] + [word.replace(token, given.strip()) for word in argv[rest:]]
        return _command(filled, lines, text)
    more = given.split()
    return _command(argv + more, lines + [lines[-1]] * len(more), text)


def _distinct(runs: dict[str, None]) -> list[str]:
    """Command lines that differ in more than their arguments' values: `parallel kubectl
    apply -f ::: a.yaml b.yaml` is one deploy, not two."""
    seen: set[str] = set()
    found = []
    for run in runs:
        signature = " ".join(c.signature for c in commands(run, depth=3))
        if signature not in seen:
            seen.add(signature)
            found.append(run)
    return found


# Programs whose standard input (`-f -`: a heredoc, a here-string, what a pipeline prints)
# is kept in the CEL view as `input` (kubectl_inline judges the objects it holds).
_READS_OBJECTS = frozenset({"kubectl", "oc"})
# Commands that move the script to another folder (shell_dirs).
_MOVES = frozenset({"cd", "pushd", "popd"})
# Characters of a program word that may stand for another word; commands that name things.
_INDIRECT = frozenset("$`'\"")
_TEACHERS = frozenset({"alias", "ln", "cp", "install", "mv", "curl", "wget"})


def _remember_written(command: Command, chain: list[Command], names: _Names) -> None:
    """What `command` writes to files, when it is known text: `echo`/`printf` redirected,
    `cat > FILE <<EOF`, `... | tee FILE`."""
    if command.program == "tee":
        content, targets = (_output(chain) if chain else command.input), command.positional
    elif command.program in ("echo", "printf", "cat") and command.redirects:
        content = command.input if command.program == "cat" else printed(command)
        targets = command.redirects
    else:
        return
    for target in targets if content else []:
        name = posixpath.normpath(target)
        names.written[name] = names.written.get(name, "") + str(content) + "\n"


def _written_file(command: Command, argv: list[str], names: _Names) -> str | None:
    """The script of a file this script wrote that `command` runs (`sh d.sh`, `./d.sh`,
    `source d.sh`), when it wrote one."""
    if not names.written:
        return None
    if command.program in _SHELLS_OR_SOURCES and not _after_c(command.args):
        path = command.positional[0] if command.positional else ""
    else:
        path = next((word for word in argv if _program_name(word) == command.program), "")
    return names.written.get(posixpath.normpath(path)) if path else None


def _named(argv: list[str], lines: list[int], names: _Names) -> tuple[list[str], list[int]]:
    """`argv` with its program word read through the script's aliases and renamed CLIs."""
    at = 0
    while at < len(argv) and (argv[at] in _KEYWORDS or _ASSIGNMENT.match(argv[at])):
        at += 1
    if at >= len(argv):
        return argv, lines
    word = argv[at]
    if not (names.aliases or names.renamed) and not _INDIRECT.intersection(word):
        return argv, lines
    if "$(" in word or "`" in word:  # `$(echo kubectl) apply`
        spelled = word.replace("`", "$(", 1).replace("`", ")", 1)
        given = _with_outputs(spelled)[0]
        word = given if given != spelled else word
    if "$" in word or "''" in word or '""' in word:  # `kube${UNSET}ctl apply`
        bare = shell_names.UNSET.sub("", word)
        word = bare if _program_name(bare) in shell_names.CLIS else word
    argv = [*argv[:at], word, *argv[at + 1 :]]
    if word in names.aliases:
        alias = names.aliases[word]
        return argv[:at] + alias + argv[at + 1 :], lines[:at] + [lines[at]] * len(alias) + lines[
            at + 1 :
        ]
    cli = names.renamed.get(_program_name(word))
    if cli is not None:
        return [*argv[:at], cli, *argv[at + 1 :]], lines
    return argv, lines


def _learn(command: Command, argv: list[str], names: _Names) -> None:
    """What a command tells of later names: an alias, a loop variable, a renamed CLI."""
    if command.program not in _TEACHERS and argv[0] not in ("for", "select"):
        return
    if command.program == "alias":
        for word in command.args:
            name, equals, value = word.partition("=")
            if equals and value.split():
                names.aliases[name] = value.split()
    loop = shell_names.loop_values(argv)
    if loop is not None:
        names.loops[loop[0]] = loop[1]
    renamed = shell_names.renamed(command.program, command.positional, command.args)
    if renamed is not None:
        names.renamed[renamed[0]] = renamed[1]


# Commands whose output is file names a `while read` loop takes one by one.
_LISTERS = frozenset({"find", "ls"})
_LOOP_NAME = lazy_re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _read_lines(command: Command, fed: Command, names: _Names) -> None:
    """`find hack -name '*.sh' | while read -r f; do bash "$f"; done`: the loop variable is
    each name the lister prints, spelled as its listing (`$(find ...)`: workflow_scripts
    follows what it lists; red team s24 trust18 c05)."""
    listing = fed.program in _LISTERS or (fed.program, fed.positional[:1]) == ("git", ["ls-files"])
    variables = [word for word in command.positional if _LOOP_NAME.fullmatch(word)]
    if listing and variables:
        names.loops[variables[-1]] = ["$(" + fed.text + ")"]


# `while read [-r] VAR; do ...; done < FILE` (the redirect is the loop's, at its end).
_WHILE_FROM_FILE = lazy_re.compile(
    r"while\s+read\s+(?:-\w+\s+)*([A-Za-z_][A-Za-z0-9_]*)\s*;?\s*do\b.*?\bdone\s*<\s*([^\s;&|<>()]+)",
    re.DOTALL,
)


_WHILE_FROM_LISTING = lazy_re.compile(
    r"while\s+read\s+(?:-\w+\s+)*([A-Za-z_][A-Za-z0-9_]*)\s*;?\s*do\b.*?\bdone\s*<\s*<\("
    r"\s*((?:find|ls|git\s+ls-files)\s[^()`]*)\)",
    re.DOTALL,
)


def _read_file_lines(script: str, start: int, names: _Names) -> None:
    """`while read -r s; do bash "$s"; done < ci/scripts.list`: the loop variable is each
    line of the file, spelled `$(cat FILE)` (workflow_scripts follows a script whose text is
    that file; red team s24 trust18 c05); `done < <(find ...)`: each name it lists."""
    found = _WHILE_FROM_FILE.match(script, start)
    if found is not None and "$" not in found.group(2):
        names.loops[found.group(1)] = [f"$(cat {found.group(2)})"]
    listed = _WHILE_FROM_LISTING.match(script, start)  # `done < <(find hack -name '*.sh')`
    if listed is not None:
        names.loops[listed.group(1)] = [f"$({listed.group(2).strip()})"]


def _loop_variants(
    command: Command,
    words: list[_Word],
    known: dict[str, str],
    script: str,
    names: _Names,
    text: str,
) -> list[Command]:
    """The command again with each other value of a loop variable it spells
    (`for v in diff apply; do kubectl $v`): the first value is in `command` already."""
    if not names.loops:
        return []
    spelled = {m.group(1) or m.group(2) for word in words for m in _VARIABLE.finditer(word.text)}
    found: list[Command] = []
    for name in sorted(spelled & set(names.loops)):
        for value in names.loops[name]:
            argv, lines = _named(*_expanded_words(words, {**known, name: value}, script), names)
            variant = _command(argv, lines, text)
            if variant is not None and variant.signature != command.signature:
                variant.directory = command.directory
                found.append(variant)
    return found


# What a CLI deploys with (kubectl, helm, oc, argocd...): a program named at run time and
# given one of these is taken for a deploy gatekeeper cannot name; the verbs many other
# programs share (`$PIP install`, `$(go env GOPATH)/bin/golangci-lint run`) only with a
# cluster CLI's flags.
_DEPLOY_VERBS = frozenset(
    {
        "apply", "replace", "patch", "rollout", "scale", "upgrade", "sync", "deploy",
        "expose", "autoscale", "drain", "taint",
    }
)  # fmt: skip
_SHARED_VERBS = frozenset(
    {"create", "delete", "install", "uninstall", "run", "set", "label", "annotate", "edit"}
)
_CLUSTER_FLAGS = lazy_re.compile(
    r"^(?:-f|--filename|-k|--kustomize|--namespace|--kubeconfig|--context|--kube-context"
    r"|--set(?:-string|-file)?|--values|--atomic|--server)(?:=|$)"
)
# A script read through a file descriptor: what the descriptor holds is not followed.
_DESCRIPTOR = lazy_re.compile(r"^/(?:dev/fd/\d+|dev/stdin|proc/(?:self|\$\$|\d+)/fd/\d+)$")


def _unreadable(command: Command) -> bool:
    """Whether what `command` runs cannot be read: a program whose name is computed at run
    time (`$(printf '\\x6b...') apply`, `"${a[0]}${a[1]}" apply`) given a deploy verb, or a
    shell reading its script through a file descriptor (`exec 3< d.sh; bash /dev/fd/3`)."""
    if ("$" in command.program or "`" in command.program) and command.positional[:1]:
        verb = command.positional[0]
        return verb in _DEPLOY_VERBS or (
            verb in _SHARED_VERBS and any(_CLUSTER_FLAGS.match(f) for f in command.flags)
        )
    if command.program in _SHELLS_OR_SOURCES and not _after_c(command.args):
        return bool(command.positional) and bool(_DESCRIPTOR.match(command.positional[0]))
    return False


def _opaque(command: Command, script: str, start: int, words: list[_Word]) -> None:
    """Mark a shell that runs a payload decoded at run time: its text is the pipeline."""
    command.opaque = True
    command.text = " ".join(script[start : words[-1].end].split())


def applies_standard_input(verb: str, args: list[str]) -> bool:
    """`kubectl apply|create|replace -f -` (`--filename=-`, `-f-`): it applies the objects
    its standard input holds (a heredoc, what a pipeline prints: kubectl_inline, ci_edits)."""
    return verb in ("apply", "create", "replace") and any(
        arg in ("-f-", "--filename=-")
        or (arg in ("-f", "--filename") and at + 1 < len(args) and args[at + 1] == "-")
        for at, arg in enumerate(args)
    )


def _output(chain: list[Command]) -> str | None:
    """What a pipeline prints, when it can be known: `echo`/`printf` of literal text, a
    here-string or heredoc, through `cat`, `tee` and decoders this can undo."""
    text: str | None = None
    for command in chain:
        given = command.input or text
        if command.program in ("echo", "printf"):
            text = printed(command)
        elif command.program in ("cat", "tee") and given is not None:
            text = given
        elif command.program in shell_names.DECODERS and given is not None:
            text = shell_names.decoded(command.program, command.args, given)
        else:
            return None
        if text is None or "$" in text:
            return None
    return text


def _with_outputs(text: str) -> tuple[str, bool]:
    """`text` with each `$(...)` replaced by what it prints, when that can be known (`eval
    "$(echo ... | base64 -d)"`), and whether one of the others decodes a payload."""
    out: list[str] = []
    opaque = False
    at = 0
    while True:
        found = text.find("$(", at)
        if found < 0:
            break
        end = skip_substitution(text, found)
        inner = text[found + 2 : end - 1]
        chain = _pipeline(inner) if _MAY_PRINT.search(inner) else []
        printed_text = _output(chain) if chain else None
        out.append(text[at:found])
        if printed_text is not None:
            out.append(printed_text)
        else:
            out.append(text[found:end])
            opaque = opaque or any(c.program in shell_names.DECODERS for c in chain)
        at = end
    out.append(text[at:])
    return "".join(out), opaque


# What a substitution must spell to print known text or decode a payload (a cheap test).
_MAY_PRINT = lazy_re.compile(
    r"\b(?:echo|printf|cat|" + "|".join(sorted(shell_names.DECODERS)) + r")\b|<<"
)


def _pipeline(script: str) -> list[Command]:
    """The commands of a script that is one pipeline (`echo X | base64 -d`), with the
    heredocs and here-strings they read; empty for anything else."""
    lexer = _Lexer(script)
    chain: list[Command] = []
    for index, ((words, _), piped) in enumerate(zip(lexer.run(), lexer.piped, strict=True)):
        argv = [word.text for word in words]
        command = _command(argv, [word.line for word in words], " ".join(argv))
        if command is None or (index and not piped):
            return []
        command.input = lexer.inputs.get(index, "")
        chain.append(command)
    return chain


def _known_value(known: dict[str, str]) -> Any:
    return lambda match: known.get(match.group(1) or match.group(2), match.group(0))


def printed(command: Command) -> str:
    """What `echo ARGS` or `printf FORMAT ARGS` writes (a script piped into a shell, a line
    sent to a file), `%s` filled in."""
    args = command.args
    if command.program == "echo":
        text = " ".join(arg for arg in args if arg not in ("-n", "-e", "-E"))
        return _escaped(text) if "-e" in args else text
    if not args:
        return ""
    fills = iter(args[1:])

    def fill(found: re.Match[str]) -> str:
        value = next(fills, "")
        return _escaped(value) if found.group(0) == "%b" else value

    return re.sub(r"%[sbd]", fill, _escaped(args[0]))


_ESCAPE = lazy_re.compile(r"\\(x[0-9A-Fa-f]{1,2}|0?[0-7]{1,3}|[abefnrtv\\])")
_NAMED_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def _escaped(text: str) -> str:
    """`text` with the backslash escapes printf (and `echo -e`) interpret: `\\x6b` is k."""
    if "\\" not in text:
        return text

    def one(found: re.Match[str]) -> str:
        code = found.group(1)
        if code[0] == "x":
            return chr(int(code[1:], 16))
        if code[0].isdigit():
            return chr(int(code, 8) & 0xFF)
        return _NAMED_ESCAPES[code]

    return _ESCAPE.sub(one, text)


# Interpreters that run code given inline (`python3 -c CODE`, `node -e CODE`, `perl -e`).
_INTERPRETERS = frozenset(
    {"python", "python3", "node", "nodejs", "deno", "bun", "perl", "ruby", "php"}
)
_INLINE_FLAGS = frozenset({"-c", "-e", "-E", "--eval", "-r", "-p", "--print"})
_LITERAL = lazy_re.compile(
    r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`([^`]*)`|(?:%x|qx)[({]([^)}]*)[)}]"""
)


def _inline_code(command: Command) -> str | None:
    args = command.args
    for index, arg in enumerate(args[:-1]):
        if arg in _INLINE_FLAGS or (command.program == "deno" and arg == "eval"):
            return args[index + 1]
    return None


# Calls of JavaScript, Perl, Ruby and PHP that run a program: `exec.exec('kubectl',
# ['apply', ...])` (actions/exec, github-script), child_process, `system(LIST)`.
_RUNNER_CALL = lazy_re.compile(
    r"\b(?:exec|execSync|execFile|execFileSync|spawn|spawnSync|getExecOutput|system|"
    r"passthru|shell_exec|proc_open|popen|popen2|popen3|capture2|capture2e|capture3|"
    r"spawnProcess|\$|execa|execaSync|execaCommand|execaCommandSync)\s*\(",
)
_CALL_TOKEN = lazy_re.compile(
    r"""\s*(?:([\[\],])|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`([^`$]*)`"""
    r"""|(?:%[qQwWx]|q[qwx]?)[({]([^)}]*)[)}])"""
)
_ZX = lazy_re.compile(r"\$`([^`$]*)`")  # zx: await $`kubectl apply -f k8s`


def code_commands(code: str) -> list[Command]:
    """The commands the calls of inline code run with literal arguments, at their 0-based
    line in `code`: one literal with spaces is a command line (`execSync('kubectl apply')`),
    several are the words of one (`spawnSync('kubectl', ['apply', '-f', 'k8s'])`)."""
    found: list[Command] = []
    for call in _RUNNER_CALL.finditer(code):
        words: list[str] = []
        at = call.end()
        while True:
            token = _CALL_TOKEN.match(code, at)
            if token is None:
                break
            at = token.end()
            if token.group(1) is None:
                literal = next(group for group in token.groups()[1:] if group is not None)
                words.append(literal.replace("\\'", "'").replace('\\"', '"'))
        line = code.count("\n", 0, call.start())
        ran = commands(words[0]) if len(words) == 1 else _command_of(words)
        for command in ran:
            command.line = line
            found.append(command)
    for template in _ZX.finditer(code):
        for command in commands(template.group(1)):
            command.line = code.count("\n", 0, template.start())
            found.append(command)
    return found


def _literals(code: str) -> list[str]:
    """The string literals of inline code that read like a command line."""
    return [
        text
        for match in _LITERAL.finditer(code)
        for text in [next(group for group in match.groups() if group is not None)]
        if " " in text.strip()
    ]


_AWKS = frozenset({"awk", "gawk", "mawk", "nawk", "busybox awk"})
_SOURCES = frozenset({"source", "."})
_SHELLS_OR_SOURCES = SHELLS | _SOURCES
_SHELLS_OR_COMMAND_STRINGS = SHELLS | _COMMAND_STRINGS
# Commands that only set variables: `export K=kubectl`.
_DECLARATIONS = frozenset({"export", "declare", "typeset", "local", "readonly"})
_VARIABLE = lazy_re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")


def _expanded_words(
    words: list[_Word], known: dict[str, str], script: str
) -> tuple[list[str], list[int]]:
    """The words' texts with each `$NAME`/`${NAME}` of a known value replaced by it (a word
    that is only the variable split at spaces, as the shell splits it, unless quoted:
    `sh -c "$CMD"` gives sh one word), and their lines."""
    argv: list[str] = []
    lines: list[int] = []
    for word in words:
        text = word.text
        if text in ("$@", "$*", "${@}", "${*}") and "@" in known:  # after `set -- ...`
            spread = shlex.split(known["@"])
            argv.extend(spread)
            lines.extend([word.line] * len(spread))
            continue
        if "${" in text and shell_names.PARAMETER.search(text):  # `${K:-kubectl}`, `${K,,}`
            text = shell_names.with_defaults(text, known)
            whole_default = shell_names.PARAMETER.fullmatch(word.text)
            if whole_default and script[word.start : word.start + 1] not in ("'", '"'):
                argv.extend(text.split() or [text])
                lines.extend([word.line] * len(text.split() or [text]))
                continue
        if "$" in text:
            whole = _VARIABLE.fullmatch(text)
            value = known.get((whole.group(1) or whole.group(2)) if whole else "")
            quoted = script[word.start : word.start + 1] in ("'", '"')
            fields = _fields(value, known) if value is not None and not quoted else []
            if fields:
                argv.extend(fields)
                lines.extend([word.line] * len(fields))
                continue
            text = _VARIABLE.sub(lambda m: known.get(m.group(1) or m.group(2), m.group(0)), text)
        argv.append(text)
        lines.append(word.line)
    return argv, lines


def _fields(value: str, known: dict[str, str]) -> list[str]:
    """An unquoted expansion's words, split at the characters of IFS as the shell splits
    them (`IFS=,; C=kubectl,apply; $C` runs kubectl), at blanks when IFS is not set."""
    separators = known.get("IFS")
    if separators is None or separators.isspace():
        return value.split()
    return [field for field in re.split(f"[{re.escape(separators)}\\s]+", value) if field]


def program_lookup(word: str) -> str | None:
    """The program `$(which NAME)` / `$(command -v NAME)` names, if `word` is that."""
    found = _LOOKUP.fullmatch(word)
    return found.group(1) if found else None


def _assignments(argv: list[str]) -> dict[str, str]:
    """The plain `NAME=value` words of an assignment or declaration command."""
    found: dict[str, str] = {}
    for word in argv:
        if _ASSIGNMENT.match(word):
            name, _, value = word.partition("=")
            located = _LOOKUP.fullmatch(value)  # `K=$(which kubectl)` is kubectl's path
            if located is None and "$(" in value:  # `K=$(echo kubectl)`
                value = _with_outputs(value)[0]
            found[name] = located.group(1) if located else value
    return found


def _read_into(command: Command) -> dict[str, str]:
    """The variable `printf -v NAME FORMAT...` or `read NAME <<< TEXT` sets."""
    args = command.args
    if command.program == "printf" and len(args) >= 3 and args[0] == "-v":
        rest = Command(command.argv, 0, "", "printf", args[2:])
        return {args[1]: printed(rest)}
    names = [word for word in command.positional if _ASSIGNMENT.fullmatch(word + "=")]
    if command.program == "read" and len(names) == 1 and command.input:
        return {names[0]: command.input.strip()}
    return {}


_LOOKUP = lazy_re.compile(
    r"(?:\$\(|`)\s*(?:which|command\s+-v|type\s+-P|type\s+-p)\s+([\w.-]+)\s*[)`]"
)


# Programs that run another command given in their arguments: `find -exec CMD ;`, and
# container runs (`docker run IMAGE CMD...`, whose image may itself be the program).
_FIND_ACTIONS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_CONTAINER_ENGINES = frozenset({"docker", "podman", "nerdctl"})
_CONTAINER_VALUE_FLAGS = frozenset(
    {
        "-e", "--env", "--env-file", "-v", "--volume", "--mount", "-w", "--workdir", "-u",
        "--user", "--name", "--network", "--net", "-p", "--publish", "--platform",
        "--entrypoint", "-l", "--label", "--label-file", "--add-host", "--cap-add",
        "--cap-drop", "--device", "--dns", "-h", "--hostname", "--ipc", "--pid", "--restart",
        "--runtime", "--security-opt", "--shm-size", "--ulimit", "--volumes-from", "-m",
        "--memory", "--cpus", "--gpus", "--log-driver", "--log-opt", "--pull", "--tmpfs",
        "--userns", "--uts", "--cidfile", "--link", "--group-add", "--expose", "--init-path",
        "--stop-signal", "--stop-timeout", "--health-cmd", "--detach-keys", "--ip", "--mac-address",
    }
)  # fmt: skip
# Images whose entrypoint is a deploying CLI (`docker run bitnami/kubectl apply -f x`).
_IMAGE_PROGRAMS = {
    "kubectl": "kubectl",
    "k8s-kubectl": "kubectl",
    "helm": "helm",
    "k8s-helm": "helm",
    "terraform": "terraform",
    "opentofu": "tofu",
    "helmfile": "helmfile",
    "argocd": "argocd",
    "flux-cli": "flux",
    "oc": "oc",
    "argocli": "argo",  # quay.io/argoproj/argocli
    "velero": "velero",  # velero/velero
    "tilt": "tilt",  # tiltdev/tilt
}


def _run_by(command: Command) -> list[list[str]]:
    """The words of the commands `command` runs from its own arguments."""
    args = command.args
    runs: list[list[str]] = []
    if command.program == "find":
        for index, arg in enumerate(args):
            if arg in _FIND_ACTIONS:
                rest = args[index + 1 :]
                ends = [at for at, word in enumerate(rest) if word in (";", "+")]
                runs.append(rest[: ends[0]] if ends else rest)
    elif command.program in _CONTAINER_ENGINES and args[:1] in (["run"], ["exec"]):
        runs.append(_in_container(args[0], args[1:]))
    elif command.program == "parallel" and ":::" in args:
        runs.extend(_in_parallel(args))
    return [argv for argv in runs if argv]


# GNU parallel's options that take a value.
PARALLEL_VALUE_FLAGS = frozenset(
    {"-j", "--jobs", "-S", "--sshlogin", "--joblog", "--results", "-a", "--arg-file",
     "--delay", "--timeout", "--retries", "-N", "-n", "--max-args", "--colsep", "-d",
     "--delimiter", "-I", "--tmpdir", "--workdir", "--env", "--halt", "--tag-string"}
)  # fmt: skip


def _in_parallel(args: list[str]) -> list[list[str]]:
    """What `parallel [OPTIONS] CMD ::: ARGS` runs: CMD with each argument (`{}` replaced),
    or each argument as a command line when there is no CMD (`parallel ::: "kubectl ..."`)."""
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != ":::":
        index += 2 if args[index] in PARALLEL_VALUE_FLAGS else 1
    template = args[index : args.index(":::")] if ":::" in args[index:] else []
    values = args[args.index(":::") + 1 :]
    values = values[: values.index(":::")] if ":::" in values else values
    runs: list[list[str]] = []
    for value in values[: shell_names.MAX_CHOICES]:
        if not template:
            runs.append(value.split())
        elif any("{}" in word for word in template):
            runs.append([word.replace("{}", value) for word in template])
        else:
            runs.append([*template, value])
    return runs


def _in_container(verb: str, args: list[str]) -> list[str]:
    """What `docker run|exec ARGS` runs: the words after the image (or container), behind
    the image's own program when the image is a CLI's (`bitnami/kubectl:1.30 apply`) or
    behind `--entrypoint`."""
    entrypoint = ""
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "-":
        flag = args[index]
        index += 1
        if flag == "--":
            break
        if "=" not in flag and flag in _CONTAINER_VALUE_FLAGS and index < len(args):
            if flag == "--entrypoint":
                entrypoint = args[index]
            index += 1
        elif flag.startswith("--entrypoint="):
            entrypoint = flag.partition("=")[2]
    if index >= len(args):
        return []
    image, rest = args[index], args[index + 1 :]
    if entrypoint:
        return [entrypoint, *rest]
    program = image_program(image) if verb == "run" else None
    if program and rest and _program_name(rest[0]) != program:
        return [program, *rest]
    return rest


def image_program(image: str) -> str | None:
    """The deploying CLI a container image runs as its entrypoint (`bitnami/kubectl:1.30`)."""
    return _IMAGE_PROGRAMS.get(image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0])


def _program_name(word: str) -> str:
    """The program a command word names: its file name, without a Windows `.exe`."""
    name = re.split(r"[/\\]", word)[-1]
    return name[:-4] if name.lower().endswith(".exe") else name


# Python calls that run a command: os.system("..."), subprocess.run([...]), sh.Command...
_PYTHON_RUNNERS = frozenset(
    {"system", "popen", "run", "call", "check_call", "check_output", "Popen", "getoutput",
     "getstatusoutput", "spawnlp", "execlp", "execvp"}
)  # fmt: skip


def python_commands(script: str) -> list[Command]:
    """The commands a Python script (a CI step with `shell: python`) runs through os or
    subprocess with literal arguments: `subprocess.run(["kubectl", "apply", ...])` and
    `os.system("kubectl apply ...")`, at their line. A script that does not parse has none."""
    import ast

    try:
        tree = ast.parse(script)
    except (SyntaxError, ValueError, RecursionError):
        return []
    found: list[Command] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else ""
        name = function.id if isinstance(function, ast.Name) else name
        if name not in _PYTHON_RUNNERS:
            continue
        first = node.args[0]
        if name.startswith(("spawn", "exec")):  # os.execlp(file, arg0, arg1, ...)
            ran = _command_of(_literal_words(node.args[1:]))
        elif isinstance(first, (ast.List, ast.Tuple)):
            ran = _command_of(_literal_words(first.elts))
        elif isinstance(first, ast.Constant) and isinstance(first.value, str):
            ran = commands(first.value)
        else:
            continue
        for command in ran:
            command.line = node.lineno - 1
            found.append(command)
    return sorted(found, key=lambda command: command.line)


def _literal_words(nodes: list[Any]) -> list[str]:
    """The leading string literals of a list of Python expressions (up to the first other)."""
    import ast

    words: list[str] = []
    for node in nodes:
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            break
        words.append(node.value)
    return words


def _command_of(words: list[str]) -> list[Command]:
    command = _command(words, [0] * len(words), " ".join(words)) if words else None
    return [command] if command is not None else []


# PowerShell and cmd.exe: the script of `pwsh -c '...'`, `powershell -Command ...` (the rest
# of the line, PowerShell accepts any prefix of -Command), `-EncodedCommand` (base64 of
# UTF-16LE), `cmd /c ...`; `Invoke-Expression` / `iex` runs its string like `eval`.
_POWERSHELLS = frozenset({"pwsh", "powershell"})
_EVALS = frozenset({"invoke-expression", "iex"})


def _windows_script(command: Command) -> str | None:
    program = command.program.lower()
    args = command.args
    if program in _EVALS:
        return " ".join(args)
    if program == "cmd":
        for index, arg in enumerate(args):
            if arg.lower() in ("/c", "/k", "/r"):
                return " ".join(args[index + 1 :])
        return None
    if program not in _POWERSHELLS:
        return None
    for index, arg in enumerate(args):
        flag = arg.lower().lstrip("-/")
        if not arg.startswith(("-", "/")) or not flag:
            continue
        if "command".startswith(flag):
            return " ".join(args[index + 1 :])
        if flag in ("e", "ec") or ("encodedcommand".startswith(flag) and len(flag) > 2):
            return _decoded(args[index + 1]) if index + 1 < len(args) else None
    return None


def _decoded(text: str) -> str | None:
    import base64
    import binascii

    try:
        return base64.b64decode(text, validate=True).decode("utf-16-le")
    except (binascii.Error, ValueError):
        return None


_SSH_VALUE_FLAGS = frozenset("bcDEeFIiJLlmOopQRSWwB")


def _remote_command(args: list[str]) -> list[str]:
    """The words of the command `ssh [options] HOST COMMAND...` runs on the host."""
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "--":
        flag = args[index]
        index += 1
        if len(flag) == 2 and flag[1] in _SSH_VALUE_FLAGS:
            index += 1
    if index < len(args) and args[index] == "--":
        index += 1
    return args[index + 1 :]


_POSITIONAL_USE = lazy_re.compile(r'"\$(?:\{([0-9@*])\}|([0-9@*]))"|\$(?:\{([0-9@*])\}|([0-9@*]))')


_IMPLICIT_LOOP = re.compile(r"\b(for|select)(\s+[A-Za-z_][A-Za-z0-9_]*)\s*(?:[;\n]\s*)?(?=do\b)")


def _with_arguments(script: str, args: list[str]) -> str:
    r"""`sh -c SCRIPT NAME ARG...`'s script with `$0`, `$1`... and `$@` as the words after it
    (`find hack -exec sh -c 'bash "$1"' _ {} \;`: red team s24 trust18 c05); as written
    when none follow."""
    given: list[str] = []
    for index, arg in enumerate(args):
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            rest = [word for word in args[index + 1 :] if not word.startswith("-")]
            given = rest[1:]
            break
    # `for f; do` loops over the positional parameters: `for f in "$@"; do` (red team s25:
    # `find hack -exec sh -c 'for f; do bash "$f"; done' sh {} +` ran every script unread)
    script = _IMPLICIT_LOOP.sub(r'\1\2 in "$@"; ', script)
    if not script or not given:
        return script

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group is not None)
        if name in "@*":
            return " ".join(shlex.quote(word) for word in given[1:])
        index = int(name)
        return shlex.quote(given[index]) if index < len(given) else match.group(0)

    return _POSITIONAL_USE.sub(value, script)


def _after_c(args: list[str]) -> str | None:
    """The script of `sh -c script` (also `bash -ec`, `bash -lc`)."""
    for index, arg in enumerate(args):
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            rest = [word for word in args[index + 1 :] if not word.startswith("-")]
            return rest[0] if rest else None
    return None


def _command(argv: list[str], lines: list[int], text: str) -> Command | None:
    """The command of `argv` (`lines`: each word's line); None for keywords or assignments."""
    words = list(argv)
    while words and (words[0] in _KEYWORDS or _ASSIGNMENT.match(words[0])):
        words.pop(0)
    wrappers: list[str] = []
    while words and posixpath.basename(words[0]) in _WRAPPERS:
        wrapper = posixpath.basename(words.pop(0))
        wrappers.append(wrapper)
        value_flags = _WRAPPERS[wrapper]
        while words and (words[0].startswith("-") or _ASSIGNMENT.match(words[0])):
            flag = words.pop(0)
            if flag == "--":
                break
            if flag in ("-S", "--split-string") and wrapper == "env" and words:
                words[:1] = words[0].split()  # `env -S "kubectl apply -f x"`
                break
            if flag.startswith("--split-string=") and wrapper == "env":
                words[:0] = flag.partition("=")[2].split()
                break
            if flag in value_flags and words:
                words.pop(0)
        if wrapper in _WRAPPER_OPERAND and words:
            words.pop(0)  # the duration, the lock file, the user, the root
    while len(words) > 1 and (posixpath.basename(words[0]), words[1]) in _SUBCOMMAND_WRAPPERS:
        tool = posixpath.basename(words[0])
        operands = _SUBCOMMAND_WRAPPERS[(tool, words[1])]
        wrappers.append(" ".join(words[:2]))
        del words[:2]
        markers = ("--", "-c", "--command") if tool == "nix" else ("--",)
        ends = [at for at, word in enumerate(words) if word in markers]
        if ends:
            del words[: ends[0] + 1]
            continue
        while words and words[0].startswith("-"):
            words.pop(0)
        del words[:operands]
    if len(words) > 2 and posixpath.basename(words[0]) in _KUBECTL_HOSTS and words[1] == "kubectl":
        words.pop(0)
    if words and posixpath.basename(words[0]) in _LAUNCHERS and len(words) > 1:
        words.pop(0)
        while len(words) > 1 and words[0] in ("-y", "--yes", "--no-install"):
            words.pop(0)  # npx's own switches
        if words[0] == "kubectl" and len(words) > 1 and words[1] == "--":
            words.pop(1)
        if words[0] == "aws-cdk":  # the package name of the `cdk` command
            words[0] = "cdk"
    if not words or words[0] in _ENDINGS:
        return None
    looked_up = _LOOKUP.fullmatch(words[0])  # `$(command -v kubectl) apply ...`
    program = looked_up.group(1) if looked_up else _program_name(words[0])
    program = _SAME_PROGRAM.get(program, program)
    versioned = _VERSIONED.fullmatch(program)
    program = versioned.group(1) if versioned else program
    args = words[1:]
    if program == "gcloud" and args[:1] in (["alpha"], ["beta"]):  # a release track
        args = args[1:]
    if program == "terragrunt":  # `terragrunt run-all apply`, `terragrunt run --all -- apply`
        while args and (args[0] in ("run-all", "run", "--") or args[0].startswith("--all")):
            args = args[1:]
    positional, flags = split_args(program, args)
    line = lines[len(argv) - len(words)]  # the program's line, after `do`, `then`, wrappers
    return Command(argv, line, text, program, args, positional, flags, wrappers)


def split_args(
    program: str, args: list[str], value_flags: frozenset[str] | None = None
) -> tuple[list[str], list[str]]:
    """Positional words and flags; values of the program's known value flags (or of
    `value_flags`) are joined to their flag (`--flag=value`)."""
    if value_flags is None:
        value_flags = VALUE_FLAGS.get(program, frozenset())
    positional: list[str] = []
    flags: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional.extend(args[index:])
            break
        if arg.startswith("-") and arg != "-":
            flags.append(arg)
            if "=" not in arg and arg in value_flags and index < len(args):
                if arg == "--dry-run" and args[index] not in ("client", "server", "none"):
                    continue  # `--dry-run` alone is a boolean in kubectl and helm
                flags[-1] = f"{arg}={args[index]}"
                index += 1
            continue
        positional.append(arg)
    return positional, flags
