"""Azure Pipelines templates and CircleCI inline orbs and parameters (red team s08 and s20
of the eleventh session): the steps a pipeline takes from another file of the repository, or
from an orb it defines itself, run as its own do, and are judged at their lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import gatekeeper
from gatekeeper.change import scan_change
from gatekeeper.sources import LoadContext, names, workflow
from gatekeeper.tree import MemoryTree
from tests.conftest import Run
from tests.test_change import Repo
from tests.test_change import repo as repo  # the fixture

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]

POLICY = "WF-GITOPS-IMPERATIVE-DEPLOY"


def scanned(root: Path, files: dict[str, str]) -> list[tuple[str, str, int]]:
    """(policy, file, line) of the deploy findings and GK-NOT-EXPANDED of a scan of `files`."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    wanted = (POLICY, "GK-NOT-EXPANDED")
    return sorted((f.policy_id, f.file, f.line) for f in report.verdict.findings
                  if f.policy_id in wanted)  # fmt: skip


def test_an_azure_steps_template_is_read_relative_to_the_including_file(tmp_path: Path) -> None:
    files = {
        "azure-pipelines.yml": "steps:\n- template: ci/deploy.yml\n- script: make test\n",
        "ci/deploy.yml": "steps:\n- script: echo hello\n- script: helm upgrade web ./chart\n",
    }
    assert scanned(tmp_path, files) == [(POLICY, "ci/deploy.yml", 3)]


def test_a_template_nested_in_a_template_and_extends_with_stages(tmp_path: Path) -> None:
    files = {
        "azure-pipelines.yml": "extends:\n  template: /pipelines/stages.yml@self\n",
        "pipelines/stages.yml": (
            "stages:\n- stage: deploy\n  jobs:\n  - job: web\n    steps:\n"
            "    - ${{ if eq(variables.prod, true) }}:\n      - template: steps/apply.yml\n"
        ),
        "pipelines/steps/apply.yml": "steps:\n- bash: |\n    kubectl apply -f k8s/\n",
    }
    assert scanned(tmp_path, files) == [(POLICY, "pipelines/steps/apply.yml", 3)]


def test_template_parameters_carry_the_command_and_the_steps(tmp_path: Path) -> None:
    """A parameter spelling the command (`${{ parameters.cmd }}`), and a stepList given in
    the including file, which the template inserts: both run."""
    files = {
        "azure-pipelines.yml": (
            "jobs:\n- template: jobs.yml\n  parameters:\n"
            "    cmd: kubectl apply -f k8s/\n"  # given, run in jobs.yml line 6
            "    extra:\n    - script: helm upgrade web ./chart\n"  # 6
        ),
        "jobs.yml": (
            "parameters:\n- {name: cmd, type: string, default: make test}\n"
            "- {name: extra, type: stepList, default: []}\n"
            "jobs:\n- job: deploy\n  steps:\n  - script: ${{ parameters.cmd }}\n"  # 7
            "  - ${{ parameters.extra }}\n"
        ),
    }
    assert scanned(tmp_path, files) == [
        (POLICY, "azure-pipelines.yml", 6),
        (POLICY, "jobs.yml", 7),
    ]
    # Its default alone runs `make test`: nothing to say.
    files["azure-pipelines.yml"] = "jobs:\n- template: jobs.yml\n"
    assert scanned(tmp_path, files) == []


def test_a_template_passes_on_what_it_is_given(tmp_path: Path) -> None:
    """The pipeline's runtime parameter reaches the inner template through the outer one."""
    files = {
        "azure-pipelines.yml": (
            "parameters:\n- {name: cmd, type: string, default: kubectl apply -f k8s/}\n"
            "stages:\n- template: ci/stages.yml\n  parameters:\n    cmd: ${{ parameters.cmd }}\n"
        ),
        "ci/stages.yml": (
            "parameters: {cmd: ''}\nstages:\n- stage: s\n  jobs:\n  - job: j\n    steps:\n"
            "    - template: steps.yml\n      parameters:\n        run: ${{ parameters.cmd }}\n"
        ),
        "ci/steps.yml": "parameters: {run: echo}\nsteps:\n- bash: ${{ parameters.run }}\n",  # 3
    }
    assert scanned(tmp_path, files) == [(POLICY, "ci/steps.yml", 3)]


def test_azure_variables_carry_the_command(tmp_path: Path) -> None:
    """`$(name)`, `${{ variables.name }}` and `$[variables.name]` are put in before the
    script runs: the pipeline's, stage's and job's variables, in its templates too."""
    files = {
        "azure-pipelines.yml": (
            "variables:\n  k: kubectl\n"
            "stages:\n- stage: s\n  variables:\n  - {name: verb, value: apply}\n  jobs:\n"
            "  - job: j\n    variables: {h: helm upgrade web ./chart}\n    steps:\n"
            "    - script: $(k) ${{ variables.verb }} -f k8s/\n"  # 11
            "    - bash: $[variables.h]\n"  # 12
            "    - template: ci/t.yml\n"
        ),
        "ci/t.yml": "steps:\n- script: echo $(date)\n- script: $(k) delete -f k8s/\n",  # 3
    }
    assert scanned(tmp_path, files) == [
        (POLICY, "azure-pipelines.yml", 11),
        (POLICY, "azure-pipelines.yml", 12),
        (POLICY, "ci/t.yml", 3),
    ]


def test_a_template_of_another_repository_is_said_at_its_line(tmp_path: Path) -> None:
    files = {
        "azure-pipelines.yml": (
            "resources:\n  repositories:\n  - {repository: tools, type: git, name: p/tools}\n"
            "steps:\n- template: deploy.yml@tools\n"  # 5
        ),
    }
    assert scanned(tmp_path, files) == [("GK-NOT-EXPANDED", "azure-pipelines.yml", 5)]


def test_a_pull_request_changing_only_an_azure_template_rejudges_it(repo: Repo) -> None:
    repo.write(".gatekeeper.yml", "packs: [workflow]\n")
    repo.write("azure-pipelines.yml", "stages:\n- template: ci/stages.yml\n")
    repo.write("ci/stages.yml", "stages:\n- stage: s\n  jobs:\n  - template: jobs.yml\n")
    repo.write("ci/jobs.yml", "jobs:\n- job: j\n  steps:\n  - script: echo hi\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("ci/jobs.yml", "jobs:\n- job: j\n  steps:\n  - script: kubectl apply -f k8s\n")
    repo.commit("deploy from the template")
    found = scan_change(repo.root, "main").verdict.blocking
    assert [(f.file, f.line, f.status) for f in found] == [("ci/jobs.yml", 4, "new")]


def test_circleci_inline_orb_commands_and_jobs_are_read(tmp_path: Path) -> None:
    config = (
        "version: 2.1\n"
        "orbs:\n"
        "  kube: circleci/kubernetes@1.3.1\n"  # an orb of the registry: a reference
        "  ops:\n"
        "    commands:\n"
        "      restart:\n"
        "        steps:\n"
        "          - run: kubectl rollout restart deploy/web\n"  # 8
        "    jobs:\n"
        "      ship:\n"
        "        docker: [{image: cimg/base:current}]\n"
        "        steps: [checkout, {run: helm upgrade web ./chart}]\n"  # 12
        "jobs:\n"
        "  debug:\n"
        "    docker: [{image: cimg/base:current}]\n"
        "    steps: [checkout, ops/restart]\n"
        "workflows: {main: {jobs: [debug, ops/ship]}}\n"
    )
    assert scanned(tmp_path, {".circleci/config.yml": config}) == [
        (POLICY, ".circleci/config.yml", 8),
        (POLICY, ".circleci/config.yml", 12),
    ]


def test_circleci_parameters_carry_the_command(tmp_path: Path) -> None:
    """`<< parameters.cmd >>` runs what the caller (a step, a workflow's job, each value of
    its matrix) gives it, and a `steps` parameter runs where it is written."""
    config = (
        "version: 2.1\n"
        "commands:\n"
        "  sh:\n"
        "    parameters: {cmd: {type: string, default: make test}, pre: {type: steps}}\n"
        "    steps:\n"
        "      - steps: << parameters.pre >>\n"
        "      - run: << parameters.cmd >>\n"  # 7
        "jobs:\n"
        "  build:\n"
        "    parameters: {what: {type: string, default: echo}}\n"
        "    docker: [{image: cimg/base:current}]\n"
        "    steps:\n"
        "      - sh: {cmd: << parameters.what >>, pre: [{run: helm upgrade web ./c}]}\n"  # 13
        "workflows:\n"
        "  main:\n"
        "    jobs:\n"
        "      - build: {what: kubectl apply -f k8s/}\n"
        "      - build: {matrix: {parameters: {what: [make lint, helm upgrade web ./c]}}}\n"
    )
    assert scanned(tmp_path, {".circleci/config.yml": config}) == [
        (POLICY, ".circleci/config.yml", 7),  # kubectl apply
        (POLICY, ".circleci/config.yml", 7),  # helm upgrade, a matrix value
        (POLICY, ".circleci/config.yml", 13),
    ]


def test_circleci_pipeline_parameters_carry_the_command(tmp_path: Path) -> None:
    config = (
        "version: 2.1\n"
        "parameters: {cmd: {type: string, default: kubectl apply -f k8s/}}\n"
        "jobs:\n"
        "  d:\n"
        "    docker: [{image: cimg/base:current}]\n"
        "    steps:\n"
        "      - run: << pipeline.parameters.cmd >>\n"  # 7
    )
    assert scanned(tmp_path, {".circleci/config.yml": config}) == [
        (POLICY, ".circleci/config.yml", 7)
    ]


def test_a_hook_given_only_an_azure_template_judges_it(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(".gatekeeper.yml", "packs: [workflow]\n")
    write("azure-pipelines.yml", "steps:\n- template: ci/deploy.yml\n")
    write("ci/deploy.yml", "steps:\n- script: echo\n- script: kubectl apply -f k8s/\n")
    run = gatekeeper("scan", "--hook", "--format", "json", "ci/deploy.yml", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    assert [(f["file"], f["line"]) for f in found if f["policy_id"] == POLICY] == [
        ("ci/deploy.yml", 3)
    ]


def test_why_a_template_is_not_expanded_is_said() -> None:
    tree = MemoryTree(
        {
            "azure-pipelines.yml": b"extends:\n  template: v1/x.yml@templates\n"
            b"steps:\n- template: ${{ variables.t }}\n- template: ../../up.yml\n"
        }
    )
    loaded = workflow.load("azure-pipelines.yml", tree.read("azure-pipelines.yml"),
                           LoadContext(tree=tree))  # fmt: skip
    assert [(p.code, p.line, p.message.split(": ", 1)[0]) for p in loaded.problems] == [
        ("GK-NOT-EXPANDED", 2, "Azure Pipelines template v1/x.yml@templates is in repository"
         " templates, not this one"),
        ("GK-NOT-EXPANDED", 4, "Azure Pipelines template ${{ variables.t }} is named by an"
         " expression"),
        ("GK-NOT-EXPANDED", 5, "Azure Pipelines template ../../up.yml is outside this"
         " repository"),
    ]  # fmt: skip


def test_azure_pipelines_by_their_usual_names() -> None:
    """A pipeline may have any name (it is chosen in Azure DevOps): those in use are read."""
    for path in ("azure-pipelines.yml", "azure-pipelines-prod.yml", "ci/azure-pipelines.yaml",
                 "deploy.azure-pipelines.yml", ".vsts-ci.yml", ".pipelines/deploy.yml",
                 ".azuredevops/release.yaml", "azure-pipelines/ship.yml"):  # fmt: skip
        assert names.ci_kind(path) == names.CI_AZURE, path
    for path in ("azure-pipelines.md", "pipelines/deploy.yml", "deploy/values.yaml"):
        assert names.ci_kind(path) == "", path
