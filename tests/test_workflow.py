from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.sources import LoadContext, adapter_for, adapters, workflow
from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]

GITHUB = """\
name: release
on:
  push: {branches: [main]}
jobs:
  deploy:
    if: github.actor == 'gitops-bot'
    environment: {name: production, url: https://example.com}
    runs-on: ubuntu-latest
    container: {image: ghcr.io/acme/ci:2}
    services:
      db: {image: "postgres:16"}
    steps:
      - uses: actions/checkout@v4
      - name: literal
        run: |-
          kubectl diff -f k8s/
          kubectl apply -f k8s/ \\
            --server-side
      - name: folded
        run: >
          helm lint ./chart

          helm upgrade web ./chart
          --install
      - name: plain
        run: kubectl get pods
          && kubectl delete pod x
      - name: quoted
        run: "terraform apply -auto-approve"
      - uses: docker://alpine:3.20
"""

GITLAB = """\
image: {name: "registry.gitlab.com/acme/ci:1"}
stages: [deploy]
variables: {A: b}
.template:
  script: [kubectl apply -f template/]
deploy:
  stage: deploy
  image: alpine:3.20
  services: [docker:24-dind]
  environment: production
  before_script:
    - kubectl config use-context prod
  script:
    - !reference [.template, script]
    - - helm upgrade web ./chart
    - |
      echo deploying
      kubectl apply -f k8s/
"""


def load(text: str, path: str) -> Any:
    loaded = workflow.load(path, text.encode(), LoadContext())
    assert loaded.problems == []
    (document,) = loaded.documents
    return document


def commands(document: Any, job: str) -> list[tuple[int, str]]:
    found = []
    for index, step in enumerate(document.obj["jobs"][job]["steps"]):
        for number, command in enumerate(step.get("commands", [])):
            line = document.locator.locate(("jobs", job, "steps", index, "commands", number)).line
            assert line == command["line"]
            found.append((line, command["signature"]))
    return found


@pytest.mark.parametrize(
    ("path", "source"),
    [
        (".github/workflows/ci.yml", "workflow"),
        ("sub/project/.github/workflows/ci.yaml", "workflow"),
        (".gitlab-ci.yml", "workflow"),
        (".github/workflows/nested/ci.yml", "kubernetes"),
        (".github/dependabot.yml", "kubernetes"),
        (".github/actions/deploy/action.yml", "workflow"),
        ("docker-compose.yml", "compose"),
        ("compose.prod.yaml", "compose"),
    ],
)
def test_registry_order(path: str, source: str) -> None:
    adapter = adapter_for(path, adapters())
    assert adapter is not None
    assert source == adapter.NAME


def test_github_commands_point_at_their_line_in_every_scalar_style() -> None:
    document = load(GITHUB, ".github/workflows/release.yml")
    assert document.kind == "GitHubWorkflow" and document.obj["events"] == ["push"]
    assert commands(document, "deploy") == [
        (16, "kubectl diff"),
        (17, "kubectl apply"),
        (21, "helm lint ./chart"),
        (23, "helm upgrade web ./chart"),
        (26, "kubectl get pods"),
        (27, "kubectl delete pod x"),
        (29, "terraform apply"),
    ]
    steps = document.obj["jobs"]["deploy"]["steps"]
    assert steps[0]["action"] == "actions/checkout" and steps[0]["ref"] == "v4"
    assert steps[1]["context"] == {
        "job": "deploy",
        "environment": "production",
        "workflow": ".github/workflows/release.yml",
        "actors": ["gitops-bot"],
        "ephemeralCluster": False,
    }
    assert document.locator.locate(("jobs", "deploy", "steps", 0, "uses")).line == 13


@pytest.mark.parametrize(
    ("condition", "actors"),
    [
        ("github.actor == 'gitops-bot'", ["gitops-bot"]),
        (
            "${{ github.triggering_actor == 'bot[bot]' && github.ref == 'refs/heads/main' }}",
            ["bot[bot]"],
        ),
        ("'gitops-bot' == github.actor", ["gitops-bot"]),
        ("github.actor == 'gitops-bot' || always()", []),
        ("github.actor != 'gitops-bot'", []),
        ("!(github.actor == 'gitops-bot')", []),
    ],
)
def test_actor_conditions(condition: str, actors: list[str]) -> None:
    assert workflow._actors(condition) == actors


def test_gitlab_jobs_and_scripts() -> None:
    document = load(GITLAB, ".gitlab-ci.yml")
    assert document.kind == "GitLabCI"
    assert set(document.obj["jobs"]) == {".template", "deploy"}
    assert commands(document, "deploy") == [
        (12, "kubectl config use-context prod"),
        (5, "kubectl apply"),  # `!reference [.template, script]` pastes it here
        (15, "helm upgrade web ./chart"),
        (17, "echo deploying"),
        (18, "kubectl apply"),
    ]
    assert commands(document, ".template") == []  # judged through `deploy`, which uses it
    assert document.obj["jobs"]["deploy"]["steps"][0]["context"]["environment"] == "production"
    assert document.locator.locate(("jobs", "deploy", "stage")).line == 7


def test_python_steps_are_not_shell_and_kind_jobs_are_ephemeral() -> None:
    text = (
        "on: push\njobs:\n  e2e:\n    runs-on: ubuntu-latest\n"
        "    defaults: {run: {shell: bash}}\n    steps:\n"
        "      - shell: python\n        run: print('kubectl apply -f x')\n"
        "      - run: kind create cluster --name t\n"
        "      - run: kubectl apply -f k8s/\n"
        "      - shell: python\n        run: |\n          import os, subprocess\n"
        "          subprocess.run(['kubectl', 'apply', '-f', 'k8s/'], check=True)\n"
        "          os.system('helm upgrade web ./chart')\n"
    )
    document = load(text, ".github/workflows/e2e.yml")
    steps = document.obj["jobs"]["e2e"]["steps"]
    assert steps[0]["commands"] == []  # a string that is printed, not run
    assert [c["signature"] for c in steps[2]["commands"]] == ["kubectl apply"]
    assert steps[2]["commands"][0]["context"]["ephemeralCluster"] is True
    ran = [(c["signature"], c["line"]) for c in steps[3]["commands"]]
    assert ran == [("kubectl apply", 14), ("helm upgrade web ./chart", 15)]


def test_gitlab_global_scripts_are_a_default_job() -> None:
    text = "before_script:\n  - kubectl apply -f crds/\nbuild:\n  script: [make]\n"
    document = load(text, ".gitlab-ci.yml")
    assert commands(document, "default") == [(2, "kubectl apply")]
    assert commands(document, "build") == [(4, "make")]


def test_images_for_the_inventory() -> None:
    github = load(GITHUB, ".github/workflows/release.yml")
    assert [(i, github.locator.locate(p).line) for i, p in workflow.images(github)] == [
        ("ghcr.io/acme/ci:2", 9),
        ("postgres:16", 11),
        ("alpine:3.20", 30),
    ]
    gitlab = load(GITLAB, ".gitlab-ci.yml")
    assert [(i, gitlab.locator.locate(p).line) for i, p in workflow.images(gitlab)] == [
        ("registry.gitlab.com/acme/ci:1", 1),
        ("alpine:3.20", 8),
        ("docker:24-dind", 9),
    ]


def test_kinds() -> None:
    assert workflow.kind_of(".github/workflows/action.yml") == "GitHubWorkflow"
    assert workflow.kind_of("action.yaml") == "GitHubAction"
    assert workflow.kind_of(".github/workflows/README.md") == ""
    text = "runs:\n  using: composite\n  steps:\n    - run: kubectl apply -f x\n      shell: bash\n"
    document = load(text, "action.yml")
    assert document.kind == "GitHubAction"
    assert commands(document, "composite") == [(4, "kubectl apply")]
    assert document.locator.locate(("jobs", "composite", "steps", 0, "shell")).line == 5
    docker = load("runs:\n  using: docker\n  image: docker://alpine:3.20\n", "action.yml")
    assert workflow.images(docker) == [("alpine:3.20", ("runs", "image"))]


def test_not_a_mapping_and_invalid_yaml_are_problems() -> None:
    loaded = workflow.load(".github/workflows/x.yml", b"- a\n- b\n", LoadContext())
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-PARSE-ERROR", 1)]
    loaded = workflow.load(".github/workflows/x.yml", b"jobs: [\n", LoadContext())
    assert [p.code for p in loaded.problems] == ["GK-PARSE-ERROR"]


def test_scan_reports_imperative_deploys_at_exact_lines(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(".github/workflows/release.yml", GITHUB)
    write(".gitlab-ci.yml", GITLAB)
    write(
        ".gatekeeper.yml",
        "packs: [workflow]\nparams:\n  WF-GITOPS-IMPERATIVE-DEPLOY: {allowedJobs: [.template]}\n",
    )
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [
        (".github/workflows/release.yml", 17),
        (".github/workflows/release.yml", 23),
        (".github/workflows/release.yml", 27),
        (".github/workflows/release.yml", 29),
        (".gitlab-ci.yml", 5),  # `deploy` runs it through `!reference`: not the template's job
        (".gitlab-ci.yml", 15),
        (".gitlab-ci.yml", 18),
    ]
    write(
        ".gatekeeper.yml",
        "packs: [workflow]\nparams:\n  WF-GITOPS-IMPERATIVE-DEPLOY:\n"
        "    allowedActors: [gitops-bot]\n    allowedEnvironments: [production]\n"
        "    allowedJobs: [.template]\n",
    )
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    ids = {f["policy_id"] for f in json.loads(run.stdout)["findings"]}
    assert "WF-GITOPS-IMPERATIVE-DEPLOY" not in ids and "WF-ACTION-PINNED-SHA" in ids


def test_wrong_shapes_are_problems_at_their_line_not_evaluation_errors(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(
        ".github/workflows/bad.yml",
        "on: push\njobs:\n  a: just a string\n  b:\n    steps: {run: make}\n"
        "  c:\n    runs-on: x\n    steps:\n      - 42\n      - run: 5\n      - uses: [a]\n",
    )
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    assert not [f for f in findings if f.get("extra", {}).get("evaluation_error")]
    assert [(f["policy_id"], f["line"], f["message"]) for f in findings] == [
        (
            "WF-PERMISSIONS-MISSING",
            1,
            "workflow declares no permissions and 3 of its 3 jobs set none: "
            "the GITHUB_TOKEN gets the repository default",
        ),
        ("GK-PARSE-ERROR", 3, "invalid workflow: jobs.a must be a mapping"),
        ("GK-PARSE-ERROR", 5, "invalid workflow: jobs.b.steps must be a list"),
        ("GK-PARSE-ERROR", 9, "invalid workflow: jobs.c.steps[0] must be a mapping"),
        ("GK-PARSE-ERROR", 11, "invalid workflow: jobs.c.steps[2].uses must be a string"),
    ]


def test_sarif_for_dockerfile_workflow_and_compose_findings_is_valid(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    import jsonschema

    from tests.conftest import REPO

    write(".github/workflows/release.yml", GITHUB)
    write("Dockerfile", "FROM python\nRUN apt-get install -y curl && \\\n    sudo make\n")
    write("compose.yaml", "services:\n  web: {image: nginx, privileged: true}\n")
    run = gatekeeper("scan", "--format", "sarif", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    sarif = json.loads(run.stdout)
    jsonschema.validate(sarif, json.loads((REPO / "tests/data/sarif-2.1.0.json").read_text()))
    regions = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in sarif["runs"][0]["results"]
    }
    assert ("DOCKER-NO-SUDO", "Dockerfile", 3) in regions
    assert ("COMPOSE-PRIVILEGED", "compose.yaml", 2) in regions
    assert ("WF-GITOPS-IMPERATIVE-DEPLOY", ".github/workflows/release.yml", 29) in regions


def test_deploys_in_repository_scripts_and_make_targets_are_found_at_their_line(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`make deploy` and `./hack/deploy.sh` hide the deploy from the workflow: it is reported
    at the script's and the Makefile's own line, via the step that ran it. A job whose
    `make dev-env` starts kind tests against a throwaway cluster and passes."""
    write(
        ".github/workflows/ci.yml",
        "on: push\njobs:\n"
        "  release:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: make deploy\n"
        "      - run: ./hack/deploy.sh prod\n"
        "      - run: bash hack/other.sh\n"
        "  e2e:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: make dev-env\n"
        "      - run: make -C ops test-install\n",
    )
    write(
        "Makefile",
        "KUBECTL ?= kubectl\n\n"
        ".PHONY: deploy dev-env\n"
        "deploy: build\n\t@echo deploying\n\t$(KUBECTL) apply -k overlays/prod\n\n"
        "build:\n\tdocker build -t app .\n\n"
        "dev-env:\n\tkind create cluster --name dev\n",
    )
    write("ops/Makefile", "test-install:\n\thelm upgrade --install app ../chart\n")
    write(
        "hack/deploy.sh",
        '#!/bin/sh\nset -e\n# kubectl apply -f old/\nhelm upgrade --install app ./chart -n "$1"\n',
    )
    write("hack/other.sh", "echo hi\n. hack/lib.sh\n")
    write("hack/lib.sh", "pulumi up --yes\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [("Makefile", 6), ("hack/deploy.sh", 4), ("hack/lib.sh", 1)]


def test_scripts_past_the_following_limits_are_opaque_not_skipped(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """What a workflow's scripts run is followed to MAX_DEPTH scripts and MAX_COMMANDS
    commands; past either, the command that is not followed is opaque at its own line (the
    imperative-deploy rule's "code that cannot be read here"), once for the budget. Both
    were a silent stop: a `kubectl apply` in a fourth script, or after 2,100 `echo` lines,
    got a green check. Three scripts deep and under the budget, nothing is said."""
    from gatekeeper.sources.workflow_scripts import MAX_COMMANDS, MAX_DEPTH

    for file, names in (("ci", ["long"]), ("other", ["a", "ok"])):  # a budget each
        steps = "".join(f"      - run: ./ci/{name}.sh\n" for name in names)
        write(
            f".github/workflows/{file}.yml",
            f"on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n{steps}",
        )
    echoes = "".join(f"echo {n}\n" for n in range(MAX_COMMANDS + 100))
    write("ci/long.sh", echoes + "kubectl apply -f x/\n")
    chain = ["a", "b", "c", "d"]  # a.sh is followed at depth 1: d.sh is past MAX_DEPTH
    assert len(chain) == MAX_DEPTH + 1
    for name, after in itertools.pairwise(chain):
        write(f"ci/{name}.sh", f"echo {name}\n./ci/{after}.sh\n")
    write("ci/d.sh", "kubectl apply -f deploy/\n")
    write("ci/ok.sh", "./ci/ok2.sh\n")
    write("ci/ok2.sh", "echo fine\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["file"], f["line"], "not followed" in f["message"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [("ci/c.sh", 2, True), ("ci/long.sh", MAX_COMMANDS + 1, True)]


def test_a_makefile_making_its_own_targets_is_read_not_cut_at_the_depth_limit(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """cluster-api's release job: `make release` -> `$(MAKE) release-manifests` ->
    `$(MAKE) manifest-modification` -> `$(MAKE) set-manifest-image`, all recipes of one
    Makefile, was cut at MAX_DEPTH: 11 blocking "code that cannot be read here" at recipe
    lines of the file being read. A sub-make of the same Makefile is read where it is, each
    target once (a target making itself ends); what its recipes run is judged at its line,
    and a script past the depth limit is still opaque."""
    write(
        ".github/workflows/release.yml",
        "on: push\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: make release\n",
    )
    write(
        "Makefile",
        "REGISTRY ?= ghcr.io/acme\n\nrelease:\n\t$(MAKE) release-manifests\n\n"
        "release-manifests:\n\t$(MAKE) manifest-modification\n\t$(MAKE) loop\n\n"
        "manifest-modification:\n\t$(MAKE) set-image \\\n\t\tIMG=$(REGISTRY)/app TAG=v1\n"
        "\t$(MAKE) -C . set-image IMG=x\n\t$(MAKE) -C ops push\n\n"
        "set-image:\n\tsed -i -e 's@image: .*@image: $(IMG)@' config/image_patch.yaml\n"
        "\tkubectl apply -k config/default\n\n"
        "loop:\n\t$(MAKE) loop\n",
    )
    write("ops/Makefile", "push:\n\t./ci/a.sh\n")
    write("ops/ci/a.sh", "./ci/b.sh\n")
    write("ops/ci/b.sh", "helm upgrade --install app ./chart\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["file"], f["line"], "not followed" in f["message"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    # ops/Makefile is a script deeper (depth 2), a.sh 3, b.sh past the limit: opaque at a.sh
    assert found == [("Makefile", 18, False), ("ops/ci/a.sh", 1, True)]


def test_a_long_chain_of_sub_makes_ends_opaque_not_in_a_crash(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """Sub-makes of one Makefile are read in place only so far (_MAX_SUBMAKES nested);
    past that each is a level deeper, and past MAX_DEPTH opaque: 3,000 targets each making
    the next were a RecursionError (exit 3) before the limit; the deploy at the end is not
    followed, so it is said as code that cannot be read."""
    write(
        ".github/workflows/r.yml",
        "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: make t0\n",
    )
    chain = "".join(f"t{i}:\n\t$(MAKE) t{i + 1}\n\n" for i in range(3000))
    write("Makefile", chain + "t3000:\n\tkubectl apply -f deploy/\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = [
        f["message"]
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    ]
    assert len(found) == 1 and "not followed" in found[0], found


def test_a_recipe_line_continued_with_a_backslash_is_one_command(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """make gives the shell a recipe line with its `\\`-continued lines as one command.
    Read line by line, cluster-api's `$(CONVERSION_GEN) \\` / `--go-header-file=./../hack/
    boilerplate.generatego.txt \\` made the flag a program and the licence header a script:
    its `*/` globbed the repository's files into commands ("code that cannot be read here"
    at .dockerignore, .golangci.yml, CONTRIBUTING.md). A command going on over lines is said
    at the line it starts on."""
    write(
        ".github/workflows/gen.yml",
        "on: push\njobs:\n  gen:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: make generate deploy\n",
    )
    write(
        "Makefile",
        "generate:\n\tcd api; $(CONVERSION_GEN) \\\n\t\t--output-file=zz_generated.go \\\n"
        "\t\t--go-header-file=./../hack/boilerplate/boilerplate.go.txt \\\n\t\t./v1\n\n"
        "deploy:\n\t@echo deploying; kubectl \\\n\t\tapply -k config/default\n",
    )
    write("api/v1/types.go", "package v1\n")
    write("hack/boilerplate/boilerplate.go.txt", "/*\nCopyright Acme.\n\nkubectl apply -f x\n*/\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["file"], f["line"], f["message"].split(": ", 1)[1].split(" (")[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [("Makefile", 8, "kubectl apply -k config/default")]


def test_deploys_in_package_json_scripts_are_found_at_their_line(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`npm run deploy` (with its pre- and post- scripts), `yarn NAME`, `npm --prefix DIR` and
    an install's lifecycle scripts (`npm ci` runs postinstall) hide a deploy in package.json."""
    write(
        ".github/workflows/ci.yml",
        "on: push\njobs:\n"
        "  release:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: npm run deploy\n"
        "      - run: npm --prefix web run ship\n"
        "      - run: npm ci && yarn lint\n",
    )
    write(
        "package.json",
        '{\n  "name": "app",\n  "scripts": {\n'
        '    "predeploy": "helm upgrade --install app ./chart",\n'
        '    "deploy": "kubectl diff -f k8s/ || kubectl apply -f k8s/",\n'
        '    "postinstall": "kubectl delete ns old",\n'
        '    "lint": "eslint ."\n  }\n}\n',
    )
    write("web/package.json", '{"scripts": {"ship": "./ship.sh"}}\n')
    write("web/ship.sh", "#!/bin/sh\nterraform apply -auto-approve\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["file"], f["line"], f["message"].split(": ", 1)[1].split(" (")[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [
        ("package.json", 4, "helm upgrade --install app ./chart"),
        ("package.json", 5, "kubectl apply -f k8s/"),
        ("package.json", 6, "kubectl delete ns old"),
        ("web/ship.sh", 2, "terraform apply -auto-approve"),
    ]


def test_a_command_spelled_through_matrix_or_env_expressions_is_found(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """The attack: `run: ${{ matrix.step }}` with `kubectl apply` among the matrix values,
    and `${{ env.K }} apply` with `env: {K: kubectl}`, deployed unseen. Each value the file
    gives the expression is split as the script; other values stay quiet."""
    write(
        ".github/workflows/ci.yml",
        "on: push\npermissions: {}\nenv: {K: kubectl}\njobs:\n  test:\n    runs-on: ubuntu-24.04\n"
        "    strategy:\n      matrix:\n        step: ['echo test', 'kubectl apply -f k8s/prod']\n"
        "        include: [{extra: 'helm upgrade --install web ./chart'}]\n"
        "    steps:\n      - run: ${{ matrix.step }}\n      - run: ${{ env.K }} apply -f k8s\n"
        "      - run: ${{ matrix.extra }}\n      - run: echo ${{ matrix.step }}\n",
    )
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["line"], f["message"].split(": ", 1)[1].split(" (", 1)[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [
        (12, "kubectl apply -f k8s/prod"),
        (13, "kubectl apply -f k8s"),
        (14, "helm upgrade --install web ./chart"),
    ]


def test_just_and_task_recipes_a_step_runs_are_judged(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """The attack: `run: just deploy` (a justfile recipe) and `run: task release` (a
    Taskfile task, through `deps` and `{task: ...}`) ran `kubectl apply` unseen, while
    `make deploy` was followed. Each command is reported at its line in the recipe file."""
    write(
        ".github/workflows/ci.yml",
        "on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: just deploy\n      - run: task release\n      - run: just\n",
    )
    write("justfile", "lint:\n    echo lint\n\ndeploy: lint\n    @kubectl apply -f k8s/prod\n")
    write(
        "Taskfile.yml",
        "version: '3'\ntasks:\n  release:\n    deps: [build]\n    cmds:\n"
        "      - echo releasing\n      - task: push\n"
        "  build:\n    cmds: [helm upgrade web ./chart]\n"
        "  push:\n    cmds:\n      - cmd: kubectl apply -f k8s\n",
    )
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [("Taskfile.yml", 9), ("Taskfile.yml", 12), ("justfile", 5)]


def test_recipes_of_included_makefiles_taskfiles_and_justfiles_are_judged(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """red team s22 trust15 c32: `make deploy` whose target is in `include ops/*.mk`, `task
    ops:deploy` of a Taskfile's `includes:` (a folder, and a flattened file), and `just
    deploy` of an `import`ed justfile ran `kubectl apply` unseen. Each command is reported at
    its line in the included file; a target the including file defines itself wins."""
    write(
        ".github/workflows/ci.yml",
        "on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: make deploy lint\n      - run: task ops:deploy rollout\n"
        "      - run: just deploy\n",
    )
    write("Makefile", "OPS := ops\ninclude $(OPS)/*.mk\nlint:\n\techo lint\n")
    write("ops/deploy.mk", "deploy:\n\tkubectl apply -f k8s/\nlint:\n\tkubectl delete ns x\n")
    write(
        "Taskfile.yml",
        "version: '3'\nincludes:\n  ops: ./ops\n  more: {taskfile: ./more.yml, flatten: true}\n",
    )
    write("ops/Taskfile.yml", "version: '3'\ntasks:\n  deploy:\n    cmds: [helm upgrade web ./c]\n")
    write("more.yml", "version: '3'\ntasks:\n  rollout:\n    cmds: [kubectl rollout restart x]\n")
    write("justfile", "import 'ops/deploy.just'\n")
    write("ops/deploy.just", "deploy:\n    kubectl apply -k k8s/\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [
        ("more.yml", 4),
        ("ops/Taskfile.yml", 4),
        ("ops/deploy.just", 2),
        ("ops/deploy.mk", 2),
    ]


def test_a_script_many_steps_run_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """rook runs its 1,300-line tests/scripts/github-action-helper.sh from most steps of its
    workflows, and the script runs itself: it was split into commands 955 times (0.12 s
    each), 60 of the 62 s of its scan. Read once per folder it runs from; what each step is
    found to run is as before."""
    from gatekeeper import shell
    from gatekeeper.tree import MemoryTree

    helper = b'#!/bin/bash\ndeploy() { kubectl apply -f deploy/; }\nci/helper.sh other\n"$@"\n'
    steps = "".join(f"      - run: ci/helper.sh deploy {n}\n" for n in range(12))
    text = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n" + steps
    tree = MemoryTree({"ci/helper.sh": helper, ".github/workflows/a.yml": text.encode()})
    reads: list[str] = []
    real = shell.commands

    def counting(script: str, *args: Any, **options: Any) -> list[shell.Command]:
        reads.append(script)
        return real(script, *args, **options)

    monkeypatch.setattr(shell, "commands", counting)
    loaded = workflow.load(".github/workflows/a.yml", text.encode(), LoadContext(tree=tree))
    (document,) = loaded.documents
    for step in document.obj["jobs"]["a"]["steps"]:
        followed = [c["text"] for c in step["commands"] if c.get("file") == "ci/helper.sh"]
        assert any("kubectl apply -f deploy/" in text for text in followed)
    assert reads.count(helper.decode()) == 1
