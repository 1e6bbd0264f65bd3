from __future__ import annotations

import random
from typing import Any

import pytest

from gatekeeper import shell
from gatekeeper.shell import commands


def signatures(script: str) -> list[tuple[int, str]]:
    return [(command.line, command.signature) for command in commands(script)]


def test_chains_pipes_continuations_and_comments() -> None:
    script = (
        "# kubectl apply -f x\n"
        'echo "kubectl apply -f x"  # kubectl delete\n'
        "kubectl diff -f x && \\\n"
        "  kubectl apply -f x; helm -n prod upgrade --install web ./chart\n"
        "kustomize build . | kubectl apply -f -\n"
    )
    assert signatures(script) == [
        (1, "echo kubectl apply -f x"),
        (2, "kubectl diff"),
        (3, "kubectl apply"),
        (3, "helm upgrade web ./chart"),
        (4, "kustomize build ."),
        (4, "kubectl apply"),
    ]


def test_heredoc_bodies_are_data_not_commands() -> None:
    script = "cat <<'EOF' | kubectl apply -f -\nkubectl delete ns prod\nEOF\nkubectl get pods\n"
    assert signatures(script) == [(0, "cat"), (0, "kubectl apply"), (3, "kubectl get pods")]
    tabbed = "cat <<-EOF >x\n\tkubectl delete ns prod\n\tEOF\nhelm list\n"
    assert signatures(tabbed) == [(0, "cat"), (3, "helm list")]


def test_wrappers_keywords_and_nested_shells() -> None:
    script = (
        "if true; then sudo -u root env A=1 /usr/bin/kubectl --context=prod delete ns x; fi\n"
        "timeout 60s microk8s kubectl rollout restart deploy/web\n"
        "bash -ec 'terraform apply -auto-approve'\n"
        'sh -c "kubectl apply -f x"\n'
    )
    found = commands(script)
    assert [(c.line, c.signature) for c in found if c.program != "true"] == [
        (0, "kubectl delete ns x"),
        (1, "kubectl rollout restart deploy/web"),
        (2, "bash terraform apply -auto-approve"),
        (2, "terraform apply"),
        (3, "sh kubectl apply -f x"),
        (3, "kubectl apply"),
    ]
    assert found[1].wrappers == ["sudo", "env"]
    assert found[1].flags == ["--context=prod"]


def test_value_flags_are_not_positional_and_quotes_span_lines() -> None:
    (command,) = commands("helm --kube-context prod -n web upgrade --set a=b web ./chart 2>&1\n")
    assert command.positional == ["upgrade", "web", "./chart"]
    assert command.flags == ["--kube-context=prod", "-n=web", "--set=a=b"]
    found = commands("echo 'multi\nline' $(kubectl get pods)\nterraform -chdir=infra apply\n")
    assert [(c.line, c.signature) for c in found] == [
        (0, "echo multi\nline $(kubectl get pods)"),
        (1, "kubectl get pods"),
        (2, "terraform apply"),
    ]
    nested = commands('OUT="$(helm upgrade web "$(cat chart)")" `kubectl delete ns x`\n')
    assert [c.signature for c in nested] == [
        "`kubectl delete ns x`",
        "helm upgrade web $(cat chart)",
        "cat chart",
        "kubectl delete ns x",
    ]
    quoted = commands("echo '$(kubectl apply -f x)'\nfor f in a; do\n  kubectl apply -f $f; done\n")
    assert [(c.line, c.signature) for c in quoted] == [
        (0, "echo $(kubectl apply -f x)"),
        (1, "for f in a"),
        (2, "kubectl apply"),
    ]


def test_scripts_a_shell_reads_from_its_input_and_inline_code_run() -> None:
    """The attacks: a shell fed its script by a here-string, a heredoc or a pipe from
    `echo`/`printf`, and `python3 -c` / `node -e` code that shells out, all deployed
    unseen. What only prints or stores the text (`echo`, `cat <<EOF`) still runs nothing."""
    deployed = [
        'bash <<< "kubectl apply -f k8s/prod"',
        "echo 'helm upgrade --install web ./chart' | bash",
        'printf "kubectl apply -f k8s/prod\\n" | sh -s',
        "python3 -c \"import os; os.system('kubectl apply -f k8s/prod')\"",
        "node -e \"require('child_process').execSync('kubectl apply -f k8s/prod')\"",
    ]
    for script in deployed:
        ran = [s for _, s in signatures(script) if s.startswith(("kubectl", "helm"))]
        assert ran in (["kubectl apply"], ["helm upgrade web ./chart"]), script
    assert signatures("bash <<EOF\nkubectl apply -f y\nEOF\necho done\n") == [
        (0, "bash"),
        (1, "kubectl apply"),
        (3, "echo done"),
    ]
    assert signatures("cat <<EOF\nkubectl apply -f z\nEOF\n") == [(0, "cat")]
    assert signatures('echo "kubectl apply" > notes.txt') == [(0, "echo kubectl apply")]
    assert signatures('grep x <<< "kubectl apply -f y"') == [(0, "grep x")]


def test_more_wrappers_and_command_strings_run_their_program() -> None:
    """Red team r14: each of these ran `kubectl apply` (or helm, terragrunt) unseen."""
    script = (
        "$(command -v kubectl) apply -f k8s\n"
        "stdbuf -oL kubectl apply -f k8s\n"
        "flock /tmp/lock kubectl apply -f k8s\n"
        "setsid ionice -c 3 kubectl apply -f k8s\n"
        'su -c "kubectl apply -f k8s" runner\n'
        'script -qc "helm upgrade --install web ./chart" /dev/null\n'
        "busybox sh -c 'kubectl apply -f k8s'\n"
        "kubecolor apply -f k8s\n"
        "terragrunt run-all apply --terragrunt-non-interactive\n"
    )
    found = [(c.program, c.positional[:1]) for c in commands(script)]
    deploys = [pair for pair in found if pair[1] in (["apply"], ["upgrade"])]
    assert deploys == [
        ("kubectl", ["apply"]),
        ("kubectl", ["apply"]),
        ("kubectl", ["apply"]),
        ("kubectl", ["apply"]),
        ("kubectl", ["apply"]),
        ("helm", ["upgrade"]),
        ("kubectl", ["apply"]),
        ("kubectl", ["apply"]),
        ("terragrunt", ["apply"]),
    ]


def test_words_with_dashes_hashes_and_operators_inside() -> None:
    """Runs of ordinary characters are taken at once: a `#` inside a word, `-` flags and
    operators right after a word still split as the shell splits them."""
    script = "kubectl apply -f a#b --dry-run=client 2>&1|tee out.log;k-x --n=1>f # c\n"
    found = commands(script)
    assert [command.argv for command in found] == [
        ["kubectl", "apply", "-f", "a#b", "--dry-run=client"],
        ["tee", "out.log"],
        ["k-x", "--n=1"],
    ]
    assert found[2].redirects == ["f"]


class _LineByLine(shell._Lexer):
    """The lexer as it skipped heredocs until this session: line by line (the
    oracle for the one-search skip)."""

    def _skip_heredocs(self) -> None:
        s = self.s
        for delimiter, strip, fed, reader in self.heredocs:
            start, body = self.line, []
            while self.i < len(s):
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


def _lexed(lexer: shell._Lexer) -> Any:
    return repr((lexer.run(), lexer.inputs, lexer.line, lexer.i, lexer.levels))


@pytest.mark.parametrize("seed", range(40))
def test_heredocs_are_skipped_as_line_by_line(seed: int) -> None:
    """kserve's install scripts hold 1.4 MB heredocs: their end is found in one search, with
    the bodies, lines and positions the line-by-line skip gave (tabs with `<<-`, carriage
    returns, an empty body, a delimiter that only starts a line, two heredocs on one
    line, one fed to a shell, one never ended)."""
    rng = random.Random(seed)
    pieces = [
        "cat <<EOF > a.yaml\n",
        "cat <<-EOF\n",
        "bash <<'END'\n",
        "kubectl apply -f - <<EOF <<END\n",
        "EOF\n",
        "\tEOF\n",
        "EOF\r\n",
        "EOFX\n",
        "END\n",
        "kind: Pod\n",
        "\n",
        "echo $x\n",
        "kubectl apply -f b.yaml\n",
        "  EOF\n",
    ]
    script = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
    if rng.random() < 0.3:
        script = script.rstrip("\n")
    assert _lexed(shell._Lexer(script)) == _lexed(_LineByLine(script)), script


CALLED_FUNCTIONS = [
    # what the body reads changes between calls
    "k() { $TOOL apply -f x.yaml; }\nTOOL=echo\nk\nTOOL=kubectl\nk\nk\n",
    # word splitting by IFS, set between calls
    "f() { $ARGS; }\nARGS='kubectl,apply,-f,a.yaml'\nf\nIFS=,\nf\n",
    # positional parameters of `set --`, an indirect expansion, a default
    'g() { "$@"; ${!V} apply -f c.yaml; ${K:-kubectl} get pods; }\n'
    "set -- kubectl apply -f d.yaml\nV=T\nT=kubectl\ng\nT=helm\ng\nK=oc\ng\n",
    # functions calling functions, a cd inside one
    "a() { cd deploy && kubectl apply -f .; }\nb() { a; $H upgrade x ./c; }\nH=helm\nb\nb\n",
]


@pytest.mark.parametrize("script", CALLED_FUNCTIONS)
def test_a_function_body_read_once_per_variables_it_reads(
    script: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a body spells is memoised by the body and the variables it reads: the same
    commands, lines and folders as reading it at every call."""
    shell._SPELLED.clear()
    memoised = [vars(c) for c in commands(script)]
    again = [vars(c) for c in commands(script)]  # from the memo
    monkeypatch.setattr(shell, "_SPELLED_MAX_BODY", -1)  # read at every call
    assert memoised == again == [vars(c) for c in commands(script)]
