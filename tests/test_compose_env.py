"""A compose file's `${VAR}` filled as Compose fills it (compose_env): from the `.env` beside
it and the `--env-file` CI runs it with. `privileged: ${PRIV:-false}` with PRIV=true in .env
runs privileged and passed green (red team w03, session 15)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.sources.compose_env import dotenv, interpolated
from tests.conftest import Run, git_in

COMPOSE = """\
services:
  web:
    image: ghcr.io/acme/web:1.4.2
    privileged: ${PRIV:-false}
    network_mode: ${NET:-bridge}
    volumes:
      - "${DATA:-./data}:/data"
"""


def test_dotenv_reads_as_compose_does() -> None:
    text = '# c\nexport A=1\nB=\'x $A\'\nC="q \\"${A}\\""  \nD=plain # note\nE: yaml\n'
    assert dotenv(text) == {"A": "1", "B": "x $A", "C": 'q "1"', "D": "plain", "E": "yaml"}


def test_interpolation_fills_what_the_env_sets_and_casts_booleans() -> None:
    env = {"PRIV": "true", "EMPTY": ""}
    written = {"privileged": "${PRIV:-false}", "a": "${EMPTY:-d}/${UNSET}", "b": "$$PRIV"}
    assert interpolated(written, env) == {"privileged": True, "a": "d/${UNSET}", "b": "$$PRIV"}


def test_a_pull_request_changing_only_the_env_files_judges_the_compose_file(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """The base's compose file and its .env are safe; the PR changes only .env (PRIV=true,
    DATA=/) and the env file a workflow passes with `--env-file` (NET=host)."""
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / ".env").write_text("PRIV=false\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "prod.env").write_text("NET=bridge\n")
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\njobs:\n  up:\n    runs-on: self-hosted\n    steps:\n"
        "      - run: docker compose --env-file deploy/prod.env up -d\n"
    )
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "branch", "base")
    (tmp_path / ".env").write_text("PRIV=true\nDATA=/\n")
    (tmp_path / "deploy" / "prod.env").write_text("NET=host\n")
    git_in(tmp_path, "commit", "-qam", "prod settings")
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["policy_id"], f["line"], f["status"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] in ("COMPOSE-PRIVILEGED", "COMPOSE-HOST-NETWORK", "COMPOSE-HOST-PATH")
    )
    assert found == [
        ("COMPOSE-HOST-NETWORK", 5, "new"),
        ("COMPOSE-HOST-PATH", 7, "new"),
        ("COMPOSE-PRIVILEGED", 4, "new"),
    ]
    assert run.returncode == 1


@pytest.mark.parametrize(
    ("stack", "other"), [("stack.yml", "other.yml"), ("stack.conf", "other"), ("s.txt", "o.json")]
)
def test_a_compose_file_under_another_name_that_compose_runs_is_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run], stack: str, other: str
) -> None:
    """deploy/stack.yml (no compose file's name: the Kubernetes source took it, found no
    manifest, said nothing) runs when CI says `docker compose -f deploy/stack.yml up`, or
    when a `.env` sets COMPOSE_FILE: the PR that only adds that line judges it. Compose reads
    any name (red team s21 trust14 c06: a .conf, .txt, .json or bare name was never read)."""
    (tmp_path / "deploy").mkdir()
    privileged = "services:\n  web:\n    image: nginx:1.27\n    privileged: true\n"
    if other.endswith(".json"):
        as_json = '{\n  "services": {\n    "web": {\n      "privileged": true,\n'
        (tmp_path / "deploy" / other).write_text(as_json + '      "image": "nginx:1.27"}}}\n')
    else:
        (tmp_path / "deploy" / other).write_text(privileged)
    (tmp_path / "deploy" / stack).write_text(privileged)
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    head = "on: push\njobs:\n  up:\n    runs-on: self-hosted\n    steps:\n"
    workflow.write_text(head + "      - run: echo up\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "branch", "base")
    workflow.write_text(head + f"      - run: cd deploy && docker compose -f {stack} up -d\n")
    (tmp_path / ".env").write_text(f"COMPOSE_FILE=deploy/{other}\n")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "run them")
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["file"], f["line"], f["status"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "COMPOSE-PRIVILEGED"
    )
    assert found == sorted([(f"deploy/{other}", 4, "new"), (f"deploy/{stack}", 4, "new")])


def test_a_secret_a_committed_env_fills_is_said_where_it_is_written(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`POSTGRES_PASSWORD=${POSTGRES_PW}` is the pattern the policy recommends: the secret is
    the `.env` line (or the `--env-file` CI deploys with) that fills it, where a reviewer
    fixes it; the message names the compose line. A default written in the compose file
    itself stays at its line (awesome-compose's postgresql-pgadmin, session 16)."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16\n    environment:\n"
        "      - POSTGRES_USER=${PG_USER}\n"
        "      - POSTGRES_PASSWORD=${PG_PW}\n"
        "      - API_TOKEN=${TOKEN:-devtoken}\n"
        "      - ADMIN_PASSWORD=${ADMIN_PW}\n"
    )
    (app / ".env").write_text("PG_USER=app\nPG_PW=changeit\nADMIN_PW=dev\n")
    (app / "prod.env").write_text("# production\nADMIN_PW=s3cret\n")
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\njobs:\n  up:\n    runs-on: self-hosted\n    steps:\n"
        "      - run: docker compose -f app/compose.yaml --env-file app/prod.env up -d\n"
    )
    run = gatekeeper("scan", str(tmp_path), "--format", "json")
    found = sorted(
        (f["file"], f["line"], f["message"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "COMPOSE-NO-SECRETS-IN-ENV"
    )
    assert found == [
        (
            "app/.env",
            2,
            "environment variable POSTGRES_PASSWORD of app/compose.yaml:6 holds a secret-like"
            " value, written at app/.env:2",
        ),
        ("app/compose.yaml", 7, "environment variable API_TOKEN holds a secret-like value"),
        (
            "app/prod.env",
            2,
            "environment variable ADMIN_PASSWORD of app/compose.yaml:8 holds a secret-like"
            " value, written at app/prod.env:2",
        ),
    ]


def test_a_computed_boolean_is_judged_the_other_way_than_its_default() -> None:
    """`privileged: ${PRIV:-false}` with PRIV a repository setting (`${{ vars.PRIV }}`) may
    run privileged; a value that only holds the variable, or another field, is kept."""
    written = {"privileged": "${PRIV:-false}", "read_only": "${RO:-true}", "image": "${PRIV}"}
    computed = frozenset({"PRIV", "RO"})
    assert interpolated(written, {}, "", computed) == {
        "privileged": True,
        "read_only": False,
        "image": "${PRIV}",
    }


@pytest.mark.parametrize(
    "step",
    [
        '      - env: {PRIV: "true"}\n        run: docker compose up -d\n',
        "      - run: PRIV=true docker compose up -d\n",
        "      - run: |\n          export PRIV=true\n          docker compose up -d\n",
        '      - env: {PRIV: "${{ vars.PRIV }}"}\n        run: docker compose up -d\n',
        '      - run: echo "PRIV=true" >> "$GITHUB_ENV"\n      - run: docker compose up -d\n',
        # the project directory's .env, not the one beside the file
        "      - run: docker compose --project-directory ops -f compose.yaml up -d\n",
    ],
)
def test_the_ci_environment_fills_a_compose_file_over_its_dotenv(
    tmp_path: Path, gatekeeper: Callable[..., Run], step: str
) -> None:
    """compose-go reads the process environment first and takes an env file's value only
    where it has none: the PR sets PRIV for the step that runs `docker compose up` (its
    env:, the command line, an export, a repository setting, an earlier step's $GITHUB_ENV)
    over the .env's PRIV=false."""
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / ".env").write_text("PRIV=false\n")
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / ".env").write_text("PRIV=true\n")  # read only as project directory
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    head = "on: push\njobs:\n  up:\n    runs-on: self-hosted\n    steps:\n"
    workflow.write_text(head + "      - run: docker compose up -d\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "branch", "base")
    workflow.write_text(head + step)
    git_in(tmp_path, "commit", "-qam", "prod settings")
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    found = [
        (f["file"], f["line"], f["status"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "COMPOSE-PRIVILEGED"
    ]
    assert found == [("compose.yaml", 4, "new")]
    assert run.returncode == 1


INCLUDED = """\
services:
  agent:
    image: ghcr.io/acme/agent:1.0.0
    privileged: ${P:-false}
"""


@pytest.mark.parametrize("named", ["stack/agent.yaml", "stack/agent.conf"])
def test_an_include_env_file_interpolates_what_it_includes(
    tmp_path: Path, gatekeeper: Callable[..., Run], named: str
) -> None:
    """`include: [{path: stack/agent.yaml, env_file: stack/prod.env}]`: Compose interpolates
    the included file with prod.env (under the including project's own variables), so P=true
    runs it privileged; only prod.env changes in the pull request (red team s21 trust14 c06).
    The including project's .env wins over the include's env file."""
    (tmp_path / "stack").mkdir()
    (tmp_path / named).write_text(INCLUDED)
    (tmp_path / "compose.yaml").write_text(
        f"include:\n  - path: {named}\n    env_file: [stack/prod.env]\n"
    )
    (tmp_path / "stack" / "prod.env").write_text("P=false\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "branch", "base")
    (tmp_path / "stack" / "prod.env").write_text("P=true\n")
    git_in(tmp_path, "commit", "-qam", "prod settings")

    def privileged() -> list[tuple[str, int, str]]:
        run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
        return [
            (f["file"], f["line"], f["status"])
            for f in json.loads(run.stdout)["findings"]
            if f["policy_id"] == "COMPOSE-PRIVILEGED"
        ]

    assert privileged() == [(named, 4, "new")]
    (tmp_path / ".env").write_text("P=false\n")  # the including project's value wins
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "project value")
    assert privileged() == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("PRIV=true\n", "compose.yaml"),
        ("COMPOSE_FILE=compose.yaml:ops/extra.txt\n", "ops/extra.txt"),
    ],
)
def test_the_hook_on_a_dotenv_judges_the_compose_files_it_fills_or_names(
    tmp_path: Path, gatekeeper: Callable[..., Run], env: str, expected: str
) -> None:
    """`gk scan --hook .env` judged nothing: the compose file of its folder (which it fills)
    and the files its COMPOSE_FILE names are its owners (red team s21 trust14 c06)."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx:1.27\n    privileged: ${PRIV:-false}\n"
    )
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "extra.txt").write_text("services:\n  web:\n    privileged: true\n")
    (tmp_path / ".env").write_text(env)
    git_in(tmp_path, "init", "-q")
    run = gatekeeper("scan", "--hook", ".env", "--format", "json", cwd=tmp_path)
    found = [
        f["file"]
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "COMPOSE-PRIVILEGED"
    ]
    assert found == [expected]
    assert run.returncode == 1
