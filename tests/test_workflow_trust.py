"""Imperative deploys hidden from the workflow rules (red-team repros): each test is a pull
request or a workflow that deployed with a green check before its fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gatekeeper.change import scan_change
from tests.conftest import Run
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
        (f["file"], f["line"], f["message"].split(": ", 1)[1].split(" (only", 1)[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == policy
    )


def scan(
    gatekeeper: Gatekeeper, tmp_path: Path, policy: str = POLICY
) -> list[tuple[str, int, str]]:
    (tmp_path / ".gatekeeper.yml").write_text("packs: [workflow]\n")
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
