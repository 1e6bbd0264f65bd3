"""Imperative deploys hidden from the workflow rules (red-team repros): each test is a pull
request or a workflow that deployed with a green check before its fix."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.change import scan_change
from tests.conftest import Run, run_cli
from tests.test_change import Repo
from tests.test_change import repo as repo  # the fixture

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]
POLICY = "WF-GITOPS-IMPERATIVE-DEPLOY"
STEPS = "on: push\npermissions: {}\njobs:\n  ship:\n    runs-on: ubuntu-24.04\n    steps:\n"


def deploys(run: Run, policy: str = POLICY) -> list[tuple[str, int, str]]:
    """(file, line, command) of each finding of `policy` in a JSON report."""
    assert run.returncode in (0, 1), run.stderr
    return sorted(
        (f["file"], f["line"], f["message"].split(": ", 1)[-1].split(" (only", 1)[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == policy
    )


def scan(
    gatekeeper: Gatekeeper, tmp_path: Path, policy: str = POLICY
) -> list[tuple[str, int, str]]:
    (tmp_path / ".gatekeeper.yml").write_text("packs: [workflow, terraform]\n")
    return deploys(gatekeeper("scan", "--format", "json", cwd=tmp_path), policy)


def test_a_pull_request_changing_only_what_a_workflow_runs_is_judged(repo: Repo) -> None:
    """The red team's `just deploy`: the base workflow runs `just deploy`, `make deploy` and
    `bash ./scripts/deploy.sh`, all harmless; the pull request changes only the justfile
    (`@kubectl` under a recipe with a dependency), the Makefile (`$(KUBECTL) apply` with
    `KUBECTL ?= kubectl`) and the script (a function wrapping kubectl, `set -x`). No
    workflow changed, so nothing was judged: 0 findings, a green check."""
    repo.write(".gatekeeper.yml", "packs: [workflow]\n")
    repo.write(
        ".github/workflows/ci.yml",
        STEPS + "      - run: just deploy\n      - run: make deploy\n"
        "      - run: bash ./scripts/deploy.sh\n",
    )
    repo.write("justfile", "build:\n    echo build\n\ndeploy: build\n    @echo deploy\n")
    repo.write("Makefile", "deploy:\n\techo deploy\n")
    repo.write("scripts/deploy.sh", "#!/bin/bash\necho deploy\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("justfile", "build:\n    echo build\n\ndeploy: build\n    @kubectl apply -f k8s/\n")
    repo.write("Makefile", "KUBECTL ?= kubectl\n\ndeploy:\n\t$(KUBECTL) apply -f k8s/\n")
    repo.write(
        "scripts/deploy.sh",
        '#!/bin/bash\nset -x\ndeploy() {\n  kubectl apply -f "$1"\n}\ndeploy k8s/\n',
    )
    repo.commit("deploy from CI")
    found = scan_change(repo.root, "main").verdict.blocking
    assert sorted((f.file, f.line, f.status) for f in found) == [
        ("Makefile", 4, "new"),
        ("justfile", 5, "new"),
        ("scripts/deploy.sh", 4, "new"),
    ]


def test_a_hook_given_only_a_followed_file_judges_the_workflow(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """pre-commit passes the changed files: a staged Makefile alone must judge `make deploy`."""
    write(".github/workflows/ci.yml", STEPS + "      - run: make deploy\n")
    write("Makefile", "deploy:\n\thelm upgrade --install web ./chart\n")
    write("README.md", "kubectl apply -f k8s/\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--hook", "--format", "json", "Makefile", "README.md", cwd=tmp_path)
    assert deploys(run) == [("Makefile", 2, "helm upgrade --install web ./chart")]


def test_just_with_another_justfile_directory_and_interpolated_variables(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`just --justfile ops/justfile deploy` read ./justfile instead (a harmless one there hid
    the deploy); `just -d`, `just DIR/RECIPE`, `task -t FILE`, recipes with parameters and
    attributes, and `{{ kubectl }}` set by `kubectl := "kubectl"` are followed too."""
    write(
        ".github/workflows/ci.yml",
        STEPS + "      - run: just --justfile ops/justfile deploy\n"
        "      - run: just --working-directory=ops rollback\n"
        "      - run: just ops/wipe\n"
        "      - run: task -t ci/tasks.yml release\n",
    )
    write("justfile", "deploy:\n    echo nothing here\n")
    write(
        "ops/justfile",
        'kubectl := "kubectl"  # the CLI\nbuild:\n    echo build\n\n[private]\n'
        '@deploy env="prod": build\n    {{ kubectl }} apply -f k8s/{{env}}\n'
        "rollback:\n    helm rollback web\nwipe:\n    -kubectl delete ns web\n",
    )
    write("ci/tasks.yml", "tasks:\n  release:\n    cmds: [terraform apply -auto-approve]\n")
    assert scan(gatekeeper, tmp_path) == [
        ("ci/tasks.yml", 3, "terraform apply -auto-approve"),
        ("ops/justfile", 7, "kubectl apply -f k8s/{{env}}"),
        ("ops/justfile", 9, "helm rollback web"),
        ("ops/justfile", 11, "kubectl delete ns web"),
    ]


def test_interpreters_and_windows_shells_running_a_deploy(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`perl -e`, `ruby -e`, `php -r` with a list of words, `pwsh -c`, `powershell -Command`,
    `-EncodedCommand` (base64 of UTF-16LE), `cmd /c`, `Invoke-Expression`; `sh -c "$CMD"`
    with CMD from the step's, the job's or the workflow's `env:` (a quoted variable is one
    word: it was split at spaces, and sh ran `kubectl` alone)."""
    encoded = base64.b64encode("helm uninstall web".encode("utf-16-le")).decode()
    write(
        ".github/workflows/ci.yml",
        "on: push\npermissions: {}\nenv: {WF: kubectl apply -f wf/}\njobs:\n  ship:\n"
        "    runs-on: windows-latest\n    env: {JOB: kubectl delete ns old}\n    steps:\n"
        '      - run: perl -e \'system("kubectl", "apply", "-f", "k8s/")\'\n'
        "      - run: ruby -e 'system(%q(helm upgrade --install web ./chart))'\n"
        "      - run: php -r 'passthru(\"terraform apply -auto-approve\");'\n"
        '      - run: pwsh -c "kubectl apply -f pwsh/"\n'
        "      - run: powershell -NoProfile -Command kubectl apply -f ps/\n"
        f"      - run: pwsh -EncodedCommand {encoded}\n"
        "      - run: cmd /c kubectl apply -f cmd/\n"
        "      - run: Invoke-Expression 'kubectl apply -f iex/'\n        shell: pwsh\n"
        '      - run: sh -c "$CMD"\n        env: {CMD: kubectl apply -f step/}\n'
        '      - run: bash -c "$JOB" && sh -c "${WF}"\n',
    )
    assert scan(gatekeeper, tmp_path) == [
        (".github/workflows/ci.yml", 9, "kubectl apply -f k8s/"),
        (".github/workflows/ci.yml", 10, "helm upgrade --install web ./chart"),
        (".github/workflows/ci.yml", 11, "terraform apply -auto-approve"),
        (".github/workflows/ci.yml", 12, "kubectl apply -f pwsh/"),
        (".github/workflows/ci.yml", 13, "kubectl apply -f ps/"),
        (".github/workflows/ci.yml", 14, "helm uninstall web"),
        (".github/workflows/ci.yml", 15, "kubectl apply -f cmd/"),
        (".github/workflows/ci.yml", 16, "kubectl apply -f iex/"),
        (".github/workflows/ci.yml", 18, "kubectl apply -f step/"),
        (".github/workflows/ci.yml", 20, "kubectl apply -f wf/"),
        (".github/workflows/ci.yml", 20, "kubectl delete ns old"),
    ]


def test_commands_passed_through_outputs_env_files_and_inputs(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """A step writes the command to $GITHUB_OUTPUT (or `::set-output`, or `| tee -a`) and a
    later step runs `${{ steps.ID.outputs.NAME }}`; $GITHUB_ENV then `$DEPLOY`; a job's
    output run by another job through `needs`; a `workflow_call` input's default and a
    `workflow_dispatch` choice. Values that only print pass."""
    write(
        ".github/workflows/ci.yml",
        "on:\n  workflow_call:\n    inputs:\n"
        "      cmd: {type: string, default: kubectl apply -f in/}\n"
        "  workflow_dispatch:\n    inputs:\n      verb: {type: choice, options: [plan, apply]}\n"
        "permissions: {}\njobs:\n  pick:\n    runs-on: ubuntu-24.04\n"
        "    outputs: {deploy: '${{ steps.s.outputs.cmd }}'}\n    steps:\n"
        '      - id: s\n        run: echo "cmd=kubectl apply -f out/" >> "$GITHUB_OUTPUT"\n'
        "      - run: ${{ steps.s.outputs.cmd }}\n"
        '      - id: old\n        run: echo "::set-output name=c::helm upgrade --install l ./c"\n'
        "      - run: ${{ steps.old.outputs.c }}\n"
        "      - id: t\n        run: printf 'c=%s\\n' 'helm rollback web' | tee -a $GITHUB_OUTPUT\n"
        "      - run: ${{ steps.t.outputs.c }}\n"
        '      - run: echo "DEPLOY=kubectl delete ns x" >> $GITHUB_ENV\n'
        "      - run: $DEPLOY\n"
        "      - run: ${{ inputs.cmd }}\n"
        "      - run: terraform ${{ github.event.inputs.verb }} -auto-approve\n"
        "      - run: echo ${{ steps.s.outputs.cmd }}\n"
        "  use:\n    needs: pick\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: ${{ needs.pick.outputs.deploy }}\n"
        "      - run: sh -c \"$X\"\n        env: {X: '${{ needs.pick.outputs.deploy }}'}\n",
    )
    assert scan(gatekeeper, tmp_path) == [
        (".github/workflows/ci.yml", 16, "kubectl apply -f out/"),
        (".github/workflows/ci.yml", 19, "helm upgrade --install l ./c"),
        (".github/workflows/ci.yml", 22, "helm rollback web"),
        (".github/workflows/ci.yml", 24, "$DEPLOY"),
        (".github/workflows/ci.yml", 25, "kubectl apply -f in/"),
        (".github/workflows/ci.yml", 26, "terraform apply -auto-approve"),
        (".github/workflows/ci.yml", 32, "kubectl apply -f out/"),
        (".github/workflows/ci.yml", 33, "kubectl apply -f out/"),
    ]


def test_github_script_and_actions_that_run_commands(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """actions/github-script running `exec.exec('kubectl', [...])` or child_process, an
    action wrapping kubectl and helm (`with.args` a command line), a `docker://` CLI image,
    azure/cli's inline script (inputs are case-insensitive). A github-script that only logs
    a command, and kubectl reads, pass."""
    write(
        ".github/workflows/ci.yml",
        STEPS + "      - uses: actions/github-script@v7\n        with:\n          script: |\n"
        "            core.info('kubectl apply -f docs/ is how to deploy')\n"
        "            await exec.exec('kubectl', ['apply', '-f', 'k8s/'])\n"
        "            require('child_process').execSync(`helm upgrade --install w ./c`)\n"
        "      - uses: wahyd4/kubectl-helm-action@master\n        with:\n          args: |\n"
        "            helm repo add bitnami https://charts.bitnami.com/bitnami\n"
        "            helm upgrade --install pg bitnami/postgresql\n"
        "      - uses: docker://bitnami/kubectl\n        with: {args: delete ns old}\n"
        "      - uses: Azure/CLI@v2\n        with:\n          inlineScript: kubectl apply -f az/\n"
        "      - uses: actions/github-script@v7\n        with:\n"
        "          script: await exec.exec('kubectl', ['get', 'pods'])\n",
    )
    assert scan(gatekeeper, tmp_path) == [
        (".github/workflows/ci.yml", 11, "kubectl apply -f k8s/"),
        (".github/workflows/ci.yml", 12, "helm upgrade --install w ./c"),
        (".github/workflows/ci.yml", 17, "helm upgrade --install pg bitnami/postgresql"),
        (".github/workflows/ci.yml", 19, "kubectl delete ns old"),
        (".github/workflows/ci.yml", 22, "kubectl apply -f az/"),
    ]


RDS = """\
terraform {
  backend "s3" {}
}
variable "public" {
  type    = bool
  default = false
}
resource "aws_db_instance" "db" {
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  publicly_accessible = var.public
}
"""


def tf_workflow(value: str, command: str = "terraform apply -auto-approve") -> str:
    return (
        f"on: push\npermissions: {{}}\nenv:\n  TF_VAR_public: {value!r}\njobs:\n  apply:\n"
        "    runs-on: ubuntu-24.04\n    defaults: {run: {working-directory: infra}}\n"
        f"    steps:\n      - run: terraform init && {command}\n"
    )


def test_tf_var_values_a_workflow_applies_with_are_judged(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`TF_VAR_public: "true"` in the workflow's env feeds `publicly_accessible = var.public`
    of the root that the job applies: the root judged with its default only passed. The
    finding points at the workflow's line. A workflow that only plans gives no variant."""
    write("infra/main.tf", RDS)
    write(".github/workflows/tf.yml", tf_workflow("true"))
    write(
        ".github/workflows/plan.yml", tf_workflow("true", "terraform plan").replace("public", "x")
    )
    assert scan(gatekeeper, tmp_path, "TF-AWS-RDS-PUBLIC") == [
        (".github/workflows/tf.yml", 4, "database is publicly accessible")
    ]
    (tmp_path / ".github/workflows/tf.yml").write_text(tf_workflow("false"))
    assert scan(gatekeeper, tmp_path, "TF-AWS-RDS-PUBLIC") == []


def test_var_flags_in_tf_cli_args_are_judged_over_tf_var(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`TF_CLI_ARGS_apply: "-var=public=true"` (and `TF_CLI_ARGS`) are the apply's own
    command line: over `TF_VAR_public: "false"` (red team r13)."""
    write("infra/main.tf", RDS)
    for name in ("TF_CLI_ARGS_apply", "TF_CLI_ARGS"):
        flags = f"  {name}: \"-input=false -var 'public=true'\"\n"
        workflow = tf_workflow("false").replace("env:\n", "env:\n" + flags)
        write(".github/workflows/tf.yml", workflow)
        found = scan(gatekeeper, tmp_path, "TF-AWS-RDS-PUBLIC")
        assert found == [(".github/workflows/tf.yml", 4, "database is publicly accessible")]


@pytest.mark.parametrize(
    "steps",
    [  # a saved plan applies the plan's values: its -var, TF_CLI_ARGS_plan
        "      - run: |\n          cd infra\n"
        "          terraform plan -var public=true -out=tfplan\n"
        "          terraform apply tfplan\n",
        '      - env: {TF_CLI_ARGS_plan: "-var=public=true"}\n        run: |\n'
        "          terraform -chdir=infra plan -out=tfplan\n"
        "          terraform -chdir=infra apply tfplan\n",
        # a repository setting decides: the other way from the bool default
        '      - env: {TF_CLI_ARGS_apply: "-var=public=${{ vars.PUBLIC }}"}\n'
        "        run: terraform -chdir=infra apply -auto-approve\n",
        # an earlier step's $GITHUB_ENV
        '      - run: echo "TF_VAR_public=true" >> "$GITHUB_ENV"\n'
        "      - run: terraform -chdir=infra apply -auto-approve\n",
    ],
)
def test_values_a_saved_plan_computed_flags_or_a_cd_give_the_apply_are_judged(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path, steps: str
) -> None:
    """Red team s16 x06: each passed green with `publicly_accessible = var.public` (a
    module no backend makes a root: applied only where a command says)."""
    write("infra/main.tf", RDS.split("}\n}\n", 1)[1])
    write(".github/workflows/tf.yml", STEPS + steps)
    found = scan(gatekeeper, tmp_path, "TF-AWS-RDS-PUBLIC")
    assert [(file, message) for file, _, message in found] == [
        (".github/workflows/tf.yml", "database is publicly accessible")
    ]


@pytest.mark.parametrize(
    ("steps", "said"),
    [  # flags CI computes whole: any -var or -var-file (red team s17 y04)
        ('      - env: {TF_CLI_ARGS: "${{ vars.TF_ARGS }}"}\n        run: $APPLY\n', True),
        (
            '      - run: |\n          export TF_CLI_ARGS_apply="$(cat ci/flags)"\n'
            "          $APPLY\n",
            True,
        ),
        (
            '      - env: {TF_CLI_ARGS_plan: "${{ secrets.ARGS }}"}\n        run: |\n'
            "          terraform -chdir=infra plan -out=p\n          terraform apply p\n",
            True,
        ),
        (  # an earlier step's $GITHUB_ENV
            '      - run: echo "TF_CLI_ARGS_apply=${{ vars.TF_ARGS }}" >> "$GITHUB_ENV"\n'
            "      - run: $APPLY\n",
            True,
        ),
        # written out, or only a -var's value computed (judged: the bool flipped), or the
        # flags of another subcommand: not said
        (
            '      - env: {TF_CLI_ARGS: "-input=false -var=public=false"}\n        run: $APPLY\n',
            False,
        ),
        (
            '      - env: {TF_CLI_ARGS_apply: "-var public=${{ vars.PUBLIC }}"}\n'
            "        run: $APPLY\n",
            False,
        ),
        ('      - env: {TF_CLI_ARGS_init: "${{ vars.BACKEND }}"}\n        run: $APPLY\n', False),
    ],
)
def test_terraform_flags_ci_computes_whole_are_said_not_judged_as_defaults(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path, steps: str, said: bool
) -> None:
    """`TF_CLI_ARGS: ${{ vars.TF_ARGS }}` can give terraform any flag (`-var public=true`, a
    var-file): the module was judged with its defaults and passed green. A blocking
    GK-LOCAL-NOT-EXPANDED at the apply says it."""
    write("infra/main.tf", RDS.split("}\n}\n", 1)[1])
    apply = "terraform -chdir=infra apply -auto-approve"
    write(".github/workflows/tf.yml", STEPS + steps.replace("$APPLY", apply))
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    notes = [
        (f["file"], f["message"].split(" computed")[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "GK-LOCAL-NOT-EXPANDED"
    ]
    assert len(notes) == said, notes
    assert all(file == ".github/workflows/tf.yml" and "TF_CLI_ARGS" in m for file, m in notes)


def test_a_pull_request_changing_only_a_tf_var_value_is_judged(repo: Repo) -> None:
    """The pull request flips `TF_VAR_public` in the workflow and touches no Terraform file:
    the root it applies is judged again, with the new value (and so is a hook given only the
    workflow)."""
    repo.write(".gatekeeper.yml", "packs: [terraform]\n")
    repo.write("infra/main.tf", RDS)
    repo.write(".github/workflows/tf.yml", tf_workflow("false"))
    repo.commit("base")
    repo.branch("pr")
    repo.write(".github/workflows/tf.yml", tf_workflow("true"))
    repo.commit("public")
    found = scan_change(repo.root, "main").verdict.blocking
    assert [(f.policy_id, f.file, f.line, f.status) for f in found] == [
        ("TF-AWS-RDS-PUBLIC", ".github/workflows/tf.yml", 4, "new")
    ]
    hook = run_cli("scan", "--hook", "--format", "json", ".github/workflows/tf.yml", cwd=repo.root)
    assert deploys(hook, "TF-AWS-RDS-PUBLIC") == [
        (".github/workflows/tf.yml", 4, "database is publicly accessible")
    ]


def test_heredoc_outputs_remote_shells_and_looked_up_programs(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """Found re-reading as an attacker: an output written with `cat >> "$GITHUB_OUTPUT"
    <<EOF` or as a `name<<DELIMITER` block, a command run on a host through `ssh` (and
    appleboy/ssh-action's script), and the program looked up with `$(which kubectl)`."""
    write(
        ".github/workflows/ci.yml",
        STEPS + '      - id: a\n        run: |\n          cat >> "$GITHUB_OUTPUT" <<EOF\n'
        "          cmd=kubectl apply -f a/\n          EOF\n"
        "      - id: b\n        run: |\n          echo 'cmd<<END' >> $GITHUB_OUTPUT\n"
        "          echo 'helm upgrade --install b ./c' >> $GITHUB_OUTPUT\n"
        "          echo END >> $GITHUB_OUTPUT\n"
        "      - run: ${{ steps.a.outputs.cmd }} && ${{ steps.b.outputs.cmd }}\n"
        "      - run: ssh -i key -p 2222 deploy@bastion 'kubectl apply -f k8s/'\n"
        "      - run: K=$(which kubectl); $K delete ns old\n"
        "      - uses: appleboy/ssh-action@v1\n        with:\n"
        "          host: bastion\n          script: helm rollback web\n"
        "      - run: ssh bastion uptime && ssh bastion kubectl get pods\n",
    )
    assert scan(gatekeeper, tmp_path) == [
        (".github/workflows/ci.yml", 17, "helm upgrade --install b ./c"),
        (".github/workflows/ci.yml", 17, "kubectl apply -f a/"),
        (".github/workflows/ci.yml", 18, "kubectl apply -f k8s/"),
        (".github/workflows/ci.yml", 19, "$K delete ns old"),
        (".github/workflows/ci.yml", 23, "helm rollback web"),
    ]


def test_values_a_step_exports_or_passes_with_var_are_judged(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`export TF_VAR_public=true` before the apply, and `terraform -chdir=infra apply -var
    public=true`: each at its script line. A value from a secret is not known here: a bool
    variable is judged the other way from its default (red team round 6, w05)."""
    write("infra/main.tf", RDS)
    steps = [
        "      - run: |\n          export TF_VAR_public=true\n"
        "          cd infra && terraform apply -auto-approve\n",
        "      - run: terraform -chdir=infra apply -var public=true -auto-approve\n",
        "      - run: terraform -chdir=infra apply -var 'public=${{ secrets.P }}'\n",
    ]
    found = []
    for step in steps:
        write(".github/workflows/tf.yml", STEPS + step)
        found.append(scan(gatekeeper, tmp_path, "TF-AWS-RDS-PUBLIC"))
    assert found == [
        [(".github/workflows/tf.yml", 8, "database is publicly accessible")],
        [(".github/workflows/tf.yml", 7, "database is publicly accessible")],
        [(".github/workflows/tf.yml", 7, "database is publicly accessible")],
    ]


def test_a_bool_variable_ci_computes_is_judged_the_other_way(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """Red team round 6 (w05): `TF_VAR_public: ${{ vars.PUBLIC }}` lets a repository setting,
    changed with no commit and no review, flip a switch whose default was judged. As for an
    envsubst placeholder CI computes, the bool is judged the other way from its default; a
    computed value of another type stays unknown (the default stands)."""
    write("infra/main.tf", RDS)
    write(".github/workflows/tf.yml", tf_workflow("${{ vars.PUBLIC }}"))
    assert scan(gatekeeper, tmp_path, "TF-AWS-RDS-PUBLIC") == [
        (".github/workflows/tf.yml", 4, "database is publicly accessible")
    ]
    write("infra/main.tf", RDS.replace("default = false", "default = true"))
    # the default itself is judged where written; CI's value is judged false: compliant
    assert scan(gatekeeper, tmp_path, "TF-AWS-RDS-PUBLIC") == [
        ("infra/main.tf", 6, "database is publicly accessible")
    ]
    write("infra/main.tf", RDS.replace("type    = bool\n  default = false", "type = string"))
    write(".github/workflows/tf.yml", tf_workflow("$PUBLIC"))
    assert scan(gatekeeper, tmp_path, "TF-AWS-RDS-PUBLIC") == []


CALLEE = (
    "on:\n  workflow_call:\n    inputs:\n      cmd: {type: string, required: true}\n"
    "permissions: {}\njobs:\n  run:\n    runs-on: ubuntu-24.04\n"
    "    steps:\n      - run: ${{ inputs.cmd }}\n"
)
ACTION = (
    "name: run\ninputs:\n  target: {required: true}\nruns:\n  using: composite\n"
    "  steps:\n    - run: ${{ inputs.target }}\n      shell: bash\n"
)


def caller(cmd: str, target: str) -> str:
    return (
        "on: push\npermissions: {}\njobs:\n  call:\n    uses: ./.github/workflows/run.yml\n"
        f"    with: {{cmd: {cmd}}}\n  steps:\n    runs-on: ubuntu-24.04\n    steps:\n"
        f"      - uses: ./ci/run\n        with: {{target: {target}}}\n"
    )


def test_what_a_caller_passes_a_reusable_workflow_or_local_action_is_judged(
    repo: Repo,
) -> None:
    """The callee runs `${{ inputs.cmd }}` and declares no default; the caller passes
    `kubectl apply`. A pull request changing only the caller's `with:` value deployed
    unseen: the callee is judged with what its callers pass, at the callee's line."""
    repo.write(".gatekeeper.yml", "packs: [workflow]\n")
    repo.write(".github/workflows/run.yml", CALLEE)
    repo.write("ci/run/action.yml", ACTION)
    repo.write(".github/workflows/main.yml", caller("make test", "echo hi"))
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        ".github/workflows/main.yml", caller("kubectl apply -f k8s/", "helm upgrade web ./c")
    )
    repo.commit("deploy")
    found = scan_change(repo.root, "main").verdict.blocking
    assert sorted((f.file, f.line, f.status) for f in found) == [
        (".github/workflows/run.yml", 10, "new"),
        ("ci/run/action.yml", 7, "new"),
    ]
    scanned = run_cli("scan", "--format", "json", cwd=repo.root)
    assert deploys(scanned) == [
        (".github/workflows/run.yml", 10, "kubectl apply -f k8s/"),
        ("ci/run/action.yml", 7, "helm upgrade web ./c"),
    ]


def test_scripts_in_other_languages_a_step_runs_are_followed(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """Found re-reading as an attacker: `python scripts/deploy.py` (subprocess), `node
    deploy.mjs` (execSync), `./release` with a python shebang and `pwsh -File deploy.ps1`
    ran a deploy that only `bash script.sh` was followed for. A script that only prints
    the command passes."""
    write(
        ".github/workflows/ci.yml",
        STEPS + "      - run: python3 -u scripts/deploy.py\n"
        "      - run: node deploy.mjs && uv run python scripts/notes.py\n"
        "      - run: ./release prod\n      - run: pwsh -File deploy.ps1\n",
    )
    write(
        "scripts/deploy.py",
        "import subprocess\n\nsubprocess.run(['kubectl', 'apply', '-f', 'k8s/'], check=True)\n",
    )
    write("scripts/notes.py", "print('kubectl apply -f k8s/ deploys')\n")
    write(
        "deploy.mjs",
        "import { execSync } from 'node:child_process'\nexecSync('helm upgrade w ./c')\n",
    )
    write("release", "#!/usr/bin/env python3\nimport os\nos.system('kubectl delete ns old')\n")
    write("deploy.ps1", "Write-Host 'deploying'\nkubectl apply -f ps/\n")
    assert scan(gatekeeper, tmp_path) == [
        ("deploy.mjs", 2, "helm upgrade w ./c"),
        ("deploy.ps1", 2, "kubectl apply -f ps/"),
        ("release", 3, "kubectl delete ns old"),
        ("scripts/deploy.py", 3, "kubectl apply -f k8s/"),
    ]
