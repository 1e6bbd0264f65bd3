"""Programs a script reaches under another name (red team r14), and the precision that
must survive it: each case deployed with a green check before the fix, or is a harmless
form that must stay harmless."""

from __future__ import annotations

import base64
import random

import pytest

from gatekeeper import shell, shell_names

PAYLOAD = base64.b64encode(b"kubectl apply -f k8s/").decode()


def ran(script: str) -> list[tuple[int, str]]:
    return [(c.line, c.signature) for c in shell.commands(script) if c.signature.split()[1:]]


def test_functions_aliases_loops_and_defaults_reach_the_cli() -> None:
    assert (0, "kubectl apply") in ran('k() { kubectl "$@"; }; k apply -f x')
    assert (3, "kubectl apply") in ran('function k {\n  kubectl "$@"\n}\nk apply -f x')
    assert (0, "kubectl apply") in ran("for v in diff apply; do kubectl $v -f x; done")
    assert (0, "helm upgrade web ./c") in ran("alias h='helm upgrade'; h web ./c")
    assert (0, "kubectl apply") in ran("${K:-kubectl} apply -f x")
    assert (0, "kubectl apply") in ran("K=kubectl; ${K:+kubectl} apply -f x")
    assert (0, "helm rollback web") in ran("${HELM=helm} rollback web")


def test_a_function_body_that_spells_the_deploy_is_found_once() -> None:
    script = 'deploy() {\n  kubectl apply -f "$1"\n}\ndeploy k8s/\n'
    assert ran(script) == [(1, "kubectl apply"), (3, "deploy k8s/")]


def test_copies_links_and_downloads_of_a_cli_under_another_name() -> None:
    assert (1, "kubectl apply") in ran('ln -s "$(which kubectl)" k\n./k apply -f x')
    assert (0, "helm upgrade w ./c") in ran("cp $(command -v helm) h; ./h upgrade w ./c")
    assert (0, "terraform apply") in ran(
        "curl -sLo tf https://releases.example.com/terraform; ./tf apply"
    )
    # installing a CLI under its own name from a versioned file keeps it that CLI
    assert (0, "kubectl apply") in ran("mv kubectl-1.30 kubectl && kubectl apply -f x")
    assert (0, "kubectl apply") in ran("cp kubectl /usr/local/bin/ && kubectl apply -f x")


def test_decoded_payloads_are_read_or_flagged_opaque() -> None:
    for script in (
        f"echo {PAYLOAD} | base64 --decode | sh",
        f"base64 -d <<< {PAYLOAD} | bash",
        f'eval "$(echo {PAYLOAD} | base64 -d)"',
        f'bash -c "$(echo {PAYLOAD} | openssl base64 -d)"',
        "echo '/s8k f- ylppa ltcebuk' | rev | sh",
    ):
        assert (0, "kubectl apply") in ran(script), script
    opaque = [
        (c.text, c.opaque)
        for script in (
            'echo "$PAYLOAD" | base64 -d | sh',
            'eval "$(curl -s https://x | base64 -d)"',
            "curl -s https://x | base64 -d | bash",
        )
        for c in shell.commands(script)
        if c.opaque
    ]
    assert opaque == [
        ('echo "$PAYLOAD" | base64 -d | sh', True),
        ('eval "$(curl -s https://x | base64 -d)"', True),
        ("curl -s https://x | base64 -d | bash", True),
    ]
    # installers and ordinary evals are not payloads to decode
    for script in (
        "curl -sSL https://get.helm.sh/install.sh | bash",
        'eval "$(ssh-agent -s)"',
        'echo "$KEY" | base64 -d > key.pem',
    ):
        assert not any(c.opaque for c in shell.commands(script)), script


def test_xargs_parallel_and_nix_shell() -> None:
    assert (0, "kubectl apply") in ran("echo apply -f x | xargs kubectl")
    assert (0, "kubectl apply") in ran("echo 'kubectl apply -f x' | xargs -I{} sh -c '{}'")
    assert (0, "kubectl apply") in ran("echo apply | xargs -I % kubectl % -f x")
    assert (0, "kubectl apply") in ran("trap 'kubectl apply -f x' EXIT")
    assert (0, "kubectl apply") in ran('env -S "kubectl apply -f x"')
    assert ran("trap - EXIT") == [(0, "trap - EXIT")]
    assert ran("parallel -j 2 kubectl apply -f ::: a.yaml b.yaml") == [
        (0, "parallel 2 kubectl apply ::: a.yaml b.yaml"),
        (0, "kubectl apply"),
    ]
    assert (0, "helm uninstall web") in ran('parallel ::: "helm uninstall web" "echo x"')
    assert (0, "kubectl apply") in ran('nix-shell --run "kubectl apply -f x"')


def test_words_that_spell_the_cli_indirectly() -> None:
    for script in (
        "$'\\x6b\\x75\\x62\\x65\\x63\\x74\\x6c' apply -f x",
        "kube${UNSET}ctl apply -f x",
        "$(echo kubectl) apply -f x",
        "`printf kubectl` apply -f x",
        "K=KUBECTL; ${K,,} apply -f x",
        "K=kubectlx; ${K:0:7} apply -f x",
        "K=kubeXctl; ${K/X/} apply -f x",
        "K=xkubectl; ${K#x} apply -f x",
        "printf -v cmd '%s' kubectl; $cmd apply -f x",
        'read -r cmd <<< "kubectl"; $cmd apply -f x',
        "cmd=$(echo kubectl); $cmd apply -f x",
        "awk 'BEGIN { system(\"kubectl apply -f x\") }'",
        f". <(echo {PAYLOAD} | base64 -d)",
        "bash <(echo kubectl apply -f x)",
    ):
        assert [s for _, s in ran(script) if s == "kubectl apply"] == ["kubectl apply"], script
    assert next(c.opaque for c in shell.commands('source <(echo "$P" | base64 -d)'))
    assert ran("source <(kubectl completion bash)") == [
        (0, "source <(kubectl completion bash)"),
        (0, "kubectl completion bash"),
    ]


def test_scripts_the_script_writes_and_runs() -> None:
    assert (1, "kubectl apply") in ran("echo 'kubectl apply -f x' > /tmp/d.sh\nbash /tmp/d.sh")
    assert (0, "helm upgrade w .") in ran("echo 'helm upgrade w .' | tee run.sh; . run.sh")
    assert (3, "kubectl apply") in ran("cat > d.sh <<EOF\nkubectl apply -f x\nEOF\n./d.sh")
    assert (0, "kubectl apply") in ran('set -- kubectl apply -f x; "$@"')
    files: dict[str, str] = {}
    shell.commands("printf 'kubectl apply -f x' > d.sh", written=files)
    later = shell.commands("sh ./d.sh", written=files)  # a later step of the same job
    assert [c.signature for c in later] == ["sh ./d.sh", "kubectl apply"]
    assert ran("echo hi > notes.txt; cat notes.txt") == [(0, "echo hi"), (0, "cat notes.txt")]


def test_wrappers_that_run_their_arguments() -> None:
    for script in (
        "gosu root kubectl apply -f x",
        "chroot /host kubectl apply -f x",
        "runuser -u root -- kubectl apply -f x",
        "taskset -c 0 kubectl apply -f x",
        "strace -f -o /dev/null kubectl apply -f x",
        "bundle exec kubectl apply -f x",
        "aws-vault exec prod -- kubectl apply -f x",
        "aws-vault exec prod kubectl apply -f x",
        "op run --env-file=.env -- kubectl apply -f x",
        "doppler run --project p --config c -- kubectl apply -f x",
        "nix develop .#ci -c kubectl apply -f x",
        "sudo -u deploy -E env -i K=1 nice -n 5 timeout 60 nohup kubectl apply -f x",
    ):
        assert ran(script) == [(0, "kubectl apply")], script
    assert ran("bundle exec rubocop -c .rubocop.yml") == [(0, "rubocop .rubocop.yml")]


def test_reading_forms_stay_reads() -> None:
    for script in (
        "for v in diff get; do kubectl $v -f x; done",
        'k() { kubectl "$@"; }; k diff -f x; k get pods',
        "alias k=kubectl; k get pods",
        "${K:-kubectl} diff -f x",
        "parallel kubectl diff -f ::: a.yaml b.yaml",
        f"echo {base64.b64encode(b'helm template web ./c').decode()} | base64 -d | sh",
    ):
        deploys = [s for _, s in ran(script) if s.startswith(("kubectl apply", "helm upgrade"))]
        assert deploys == [], script


def test_a_function_body_ends_at_its_own_brace() -> None:
    """kserve's generated install scripts: an escaped quote inside double quotes (and an
    apostrophe in a comment, a `}` in a heredoc) moved the end of a function's body to the
    end of the script, which every call then ran again (60 s a script, commands said at the
    call lines)."""
    script = (
        "setv() {\n"
        "    # it's kept when set\n"
        '    eval "export $1=\\"$2\\""\n'
        "}\n"
        "manifests() {\n"
        "    cat <<EOF\n"
        "text: }\n"
        "EOF\n"
        "}\n"
        "setv A b\n"
        "setv C d\n"
        'manifests | kubectl apply -f "prod/"\n'
        'echo "\'}"\n'
    )
    assert shell_names.functions(script) == {
        "setv": '\n    # it\'s kept when set\n    eval "export $1=\\"$2\\""\n',
        "manifests": "\n    cat <<EOF\ntext: }\nEOF\n",
    }
    assert [(line, signature) for line, signature in ran(script) if line >= 9] == [
        (9, "setv A b"),
        (9, 'eval export A="b"'),
        (9, "export A=b"),
        (10, "setv C d"),
        (10, 'eval export C="d"'),
        (10, "export C=d"),
        (11, "kubectl apply"),
        (12, "echo '}"),
    ]


def _after_line_by_line(s: str, i: int, pending: list[tuple[str, bool]]) -> int:
    """shell_names._after_heredocs as it read heredocs until this session, line by line."""
    for delimiter, strip in pending:
        while i < len(s):
            end = s.find("\n", i)
            end = len(s) if end < 0 else end
            line = s[i:end]
            i = end + 1
            if (line.lstrip("\t") if strip else line).rstrip("\r") == delimiter:
                break
    return min(i, len(s))


@pytest.mark.parametrize("seed", range(200))
def test_heredoc_bodies_are_passed_as_line_by_line(seed: int) -> None:
    """A function's closing brace is looked for past its heredocs' bodies, each end found in
    one search: the index the line-by-line reading gave."""
    rng = random.Random(seed)
    lines = ["EOF", "\tEOF", "EOF\r", "EOFX", "END", " EOF", "kind: Pod", "", "}", "\t\tEND"]
    s = "\n".join(rng.choice(lines) for _ in range(rng.randint(0, 12)))
    s += rng.choice(["", "\n"])
    pending = [
        (rng.choice(["EOF", "END", ""]), rng.random() < 0.5) for _ in range(rng.randint(1, 3))
    ]
    assert shell_names._after_heredocs(s, 0, pending) == _after_line_by_line(s, 0, pending)
