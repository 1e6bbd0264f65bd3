"""The folder each command of a CI script runs in (shell_dirs): `cd docker && docker build
-f prod .` builds docker/prod, which passed a root image green while the shell model had no
`cd` (session 14's leftover)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper import shell, shell_dirs
from tests.conftest import Run, git_in


def folders(script: str, place: shell_dirs.Place | None = None) -> list[tuple[str, str | None]]:
    return [(c.text, c.directory) for c in shell.commands(script, place=place)]


@pytest.mark.parametrize(
    ("script", "where"),
    [
        ("cd docker && docker build -f prod .", "docker"),
        ("cd docker\ndocker build -f prod .", "docker"),
        ("pushd docker\npopd\npushd docker\ndocker build -f prod .", "docker"),
        ("(cd elsewhere && ls)\ndocker build -f prod .", "."),
        ("cd docker; cd /tmp; cd -; docker build -f prod .", "docker"),
        ('D=docker\ncd "$D"\ndocker build -f prod .', "docker"),
        ('cd "$GITHUB_WORKSPACE/docker" && docker build -f prod .', "docker"),
        ("cd docker/sub && cd .. && docker build -f prod .", "docker"),
        ('cd "$BUILD_DIR"\ndocker build -f prod .', None),  # computed: unknown
        ("cd ..\ndocker build -f prod .", None),  # above the root: the runner's folders
        ("cd /opt/src && docker build -f prod .", None),  # where the checkout is: unknown
        ("cd && docker build -f prod .", "/~"),  # the home: outside the checkout
        ('if [ -n "$X" ]; then cd other; fi\ndocker build -f prod .', None),  # which branch?
        ("f() { cd elsewhere; }\ndocker build -f prod .", "."),  # defined, not run
        ("for d in a b; do cd $d; make; cd ..; done\ndocker build -f prod .", "."),
        ("cd x | cat\ndocker build -f prod .", "."),  # a pipeline's part: its own subshell
        ("echo y | { cd docker && docker build -f prod .; }", "docker"),  # ... in which cd lasts
        ("echo y | { cd elsewhere; }\ndocker build -f prod .", "."),
        ("{ cd docker; }\ndocker build -f prod .", "docker"),  # a group of this shell
        # ... unless piped on, or fed: a pipeline's part (red team s17 y03)
        ("{ cd elsewhere; ls; } | tee log\ndocker build -f prod .", "."),
        ("{ cd elsewhere; } 2>&1 | tee log\ndocker build -f prod .", "."),
        ("if true; then cd elsewhere; fi | cat\ndocker build -f prod .", "."),
        ("ls | while read d; do cd elsewhere; done\ndocker build -f prod .", "."),
        ("cd docker && { ls; } | tee log\ndocker build -f prod .", "docker"),
        ("case $x in a) (cd y);; esac\ndocker build -f prod .", "."),
        ("sh -c 'cd elsewhere'\ndocker build -f prod .", "."),
        ('eval "cd docker"\ndocker build -f prod .', "docker"),  # eval: this shell
        ("go() { cd docker; }\ngo\ndocker build -f prod .", "docker"),  # a function call too
        ("go() ( cd elsewhere )\ngo\ndocker build -f prod .", "."),  # ... unless a subshell
        ("export CDPATH=.:other\ncd docker\ndocker build -f prod .", None),  # searched
    ],
)
def test_each_command_runs_in_the_folder_the_script_went_to(script: str, where: str | None) -> None:
    assert folders(script)[-1] == ("docker build -f prod .", where)


def test_a_script_s_own_folder_and_a_nested_script_start_where_they_are_run() -> None:
    place = shell_dirs.Place("ops", script_dir="ci")
    assert folders('cd "$(dirname "$0")/../docker"; ls', place)[-1] == ("ls", "docker")
    for away in ("> /dev/null", ">/dev/null 2>&1", "&> /dev/null"):  # cd's output sent away
        here = f'D="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" {away} && pwd)"'
        assert folders(here + '; pushd "${D}/../docker"; ls', place)[-1] == ("ls", "docker")
    assert folders("cd k8s && sh -c 'cd base && kubectl apply -f a.yaml'")[-1] == (
        "kubectl apply -f a.yaml",
        "k8s/base",
    )


@pytest.mark.parametrize(
    ("script", "where"),
    [
        (". ci/env.sh\ndocker build -f prod .", "docker"),  # its cd lasts
        ("source ./ci/env.sh && docker build -f prod .", "docker"),
        ('. ci/vars.sh\ncd "$D"\ndocker build -f prod .', "docker"),  # so do its variables
        (". ci/funcs.sh\ngo\ndocker build -f prod .", "docker"),  # and its functions
        (". ci/nested.sh\ndocker build -f prod .", "docker"),  # it sources another
        ("cd ci && . ./env-here.sh && docker build -f prod .", "docker"),  # `cd ../docker`
        ("bash ci/env.sh\ndocker build -f prod .", "."),  # a shell of its own
        (". ci/absent.sh\ndocker build -f prod .", "."),  # not the repository's: not read
        (". ci/env.sh | cat\ndocker build -f prod .", "."),  # a pipeline's part
        ("(. ci/env.sh)\ndocker build -f prod .", "."),  # a subshell
    ],
)
def test_a_sourced_script_of_the_repository_moves_the_sourcing_shell(
    script: str, where: str | None
) -> None:
    """`. ci/env.sh` runs the script in this shell (POSIX `.`): where it goes, what it sets
    and the functions it defines last for the lines after it."""
    files = {
        "ci/env.sh": "set -e\ncd docker\n",
        "ci/vars.sh": "export D=docker\n",
        "ci/funcs.sh": "go() {\n  cd docker\n}\n",
        "ci/nested.sh": ". ci/env.sh\necho ready\n",
        "ci/env-here.sh": "cd ../docker\n",
    }
    place = shell_dirs.Place(files=files.get)
    assert folders(script, place)[-1] == ("docker build -f prod .", where)


@pytest.mark.parametrize(
    ("ci_file", "text"),
    [
        (".github/workflows/build.yml", "      - run: cd docker && docker build -f prod .\n"),
        (
            ".github/workflows/build.yml",
            "      - working-directory: ci\n        run: |\n          pushd ../docker\n"
            "          docker build -f prod .\n          popd\n",
        ),
        (
            ".gitlab-ci.yml",
            "build:\n  before_script: [cd docker]\n  script: [docker build -f prod .]\n",
        ),
        (".github/workflows/build.yml", "      - run: ./ci/build.sh\n"),  # cd in the script
        (  # a sourced script's cd lasts in the step's shell
            ".github/workflows/build.yml",
            "      - run: |\n          . ci/env.sh\n          docker build -f prod .\n",
        ),
        (
            ".gitlab-ci.yml",
            "build:\n  before_script: [source ci/env.sh]\n  script: [docker build -f prod .]\n",
        ),
        (  # the `default:` before_script a job runs before its own script
            ".gitlab-ci.yml",
            "default:\n  before_script: [cd docker]\nbuild:\n  script: [docker build -f prod .]\n",
        ),
        (".github/workflows/build.yml", "      - run: docker build -t x - < docker/prod\n"),
        (
            ".github/workflows/build.yml",
            "      - run: cd docker && cat prod | docker build -f- .\n",
        ),
    ],
)
def test_a_pull_request_building_a_dockerfile_after_cd_is_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run], ci_file: str, text: str
) -> None:
    """The PR adds docker/prod (USER root, under a name no adapter reads as a Dockerfile's)
    and a CI line that goes to docker/ before `docker build -f prod`: judged at its line."""
    pinned = "alpine:3.19@sha256:" + "0" * 64
    (tmp_path / "docker").mkdir()
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "build.sh").write_text("#!/bin/sh\ncd docker\ndocker build -f prod .\n")
    (tmp_path / "ci" / "env.sh").write_text("export REGISTRY=ghcr.io/acme\ncd docker\n")
    (tmp_path / "README.md").write_text("app\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "branch", "base")
    (tmp_path / "docker" / "prod").write_text(f"FROM {pinned}\nUSER root\n")
    path = tmp_path / ci_file
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
    path.write_text(text if ci_file == ".gitlab-ci.yml" else head + text)
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "build docker/prod")
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    assert [(f["file"], f["line"]) for f in found if f["policy_id"] == "DOCKER-USER-NOT-ROOT"] == [
        ("docker/prod", 2)
    ]
    assert run.returncode == 1


def test_a_build_whose_folder_is_computed_is_said_not_missed(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`cd "$BUILD_DIR" && docker build -f prod .`: which file it builds is not known, and
    its name is not a Dockerfile's, so no rule judges it: a blocking note at the line. A
    build of `Dockerfile` there (judged by its name wherever it is) says nothing. So does a
    build of a file the repository does not hold where the model puts it (a sourced script
    the repository does not hold may have moved the shell), and one of a file it holds there
    after such a script (red team s17 y03: the script may `cd` to another `prod`)."""
    (tmp_path / "prod").write_text("FROM scratch\n")
    workflow = tmp_path / ".github" / "workflows" / "build.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: |\n          cd "$BUILD_DIR"\n          docker build -f prod .\n'
        "          docker build -f Dockerfile.ci .\n          docker build .\n"
        "      - run: |\n          . ci/go-to-docker.sh\n          docker build -f prod .\n"
        "          docker build -f Dockerfile .\n"
    )
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    notes = [(f["file"], f["line"]) for f in found if f["policy_id"] == "GK-LOCAL-NOT-EXPANDED"]
    assert notes == [(".github/workflows/build.yml", 8), (".github/workflows/build.yml", 13)]


def test_helm_and_envsubst_inputs_are_read_from_the_folder_the_command_runs_in(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`cd deploy && helm upgrade web ./chart -f values-prod.yaml` renders deploy/chart with
    deploy/values-prod.yaml, and `cd deploy && envsubst < agent.yaml | kubectl apply -f -`
    fills deploy/agent.yaml with the job's env: both privileged (the files' own defaults are
    not), which were judged with the defaults only."""
    chart = tmp_path / "deploy" / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("privileged: false\n")
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: app}}\nspec:\n"
        "  containers:\n    - name: c\n      image: ghcr.io/acme/web:1.4.2\n"
        "      securityContext: {{privileged: {value}}}\n"
    )
    (chart / "templates" / "pod.yaml").write_text(
        pod.format(name="web", value="{{ .Values.privileged }}")
    )
    (tmp_path / "deploy" / "values-prod.yaml").write_text("privileged: true\n")
    (tmp_path / "deploy" / "agent.yaml").write_text(
        pod.format(name="agent", value="${DEBUG:-false}")
    )
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env: {DEBUG: 'true'}\n"
        "    steps:\n"
        "      - run: cd deploy && helm upgrade --install web ./chart -f values-prod.yaml\n"
        "      - run: |\n          cd deploy\n"
        "          envsubst < agent.yaml | kubectl apply -f -\n"
    )
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = {
        f["file"]
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-PSS-PRIVILEGED"
    }
    assert found == {"deploy/chart/templates/pod.yaml", "deploy/agent.yaml"}
