"""GitLab CI jobs whose commands are not written under the job (red team r15): child
pipelines, templates, references, hooks, CI steps, and values spelled through variables,
matrices, rules and inputs. Each deployed with a green check before its fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gatekeeper.change import scan_change
from tests.conftest import Run
from tests.test_change import Repo
from tests.test_change import repo as repo  # the fixture
from tests.test_workflow_trust import scan

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]


def test_child_pipelines_hooks_and_steps_are_judged(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """The red team's r15: `trigger: include: FILE` (and its list of `local:` forms) starts a
    child pipeline from the repository, `hooks: pre_get_sources_script` runs before the
    clone, `run:` lists CI steps with scripts; none was read. A variable in a local include
    may name any file its pattern matches."""
    write(
        ".gitlab-ci.yml",
        "test:\n  script: [echo test]\n  hooks:\n    pre_get_sources_script:\n"
        "      - kubectl apply -f k8s/hook\n"
        "deploy:\n  trigger:\n    include: ci/deploy.yml\n"
        "more:\n  trigger:\n    include:\n      - local: /ci/$CHILD.yml\n    strategy: depend\n"
        "steps-job:\n  run:\n    - name: deploy\n      script: helm upgrade --install web ./chart\n"
        "default:\n  hooks:\n    pre_get_sources_script: helm uninstall old\n",
    )
    write("ci/deploy.yml", "deploy:\n  script:\n    - kubectl apply -f k8s/prod\n")
    write("ci/more.yml", "spec:\n  inputs: {}\n---\nmore:\n  script: [terraform apply]\n")
    assert scan(gatekeeper, tmp_path) == [
        (".gitlab-ci.yml", 5, "kubectl apply -f k8s/hook"),
        (".gitlab-ci.yml", 17, "helm upgrade --install web ./chart"),
        (".gitlab-ci.yml", 20, "helm uninstall old"),
        ("ci/deploy.yml", 3, "kubectl apply -f k8s/prod"),
        ("ci/more.yml", 5, "terraform apply"),
    ]


def test_a_pull_request_changing_only_a_child_pipeline_is_judged(repo: Repo) -> None:
    repo.write(".gatekeeper.yml", "packs: [workflow]\n")
    repo.write(".gitlab-ci.yml", "deploy:\n  trigger:\n    include: [{local: ci/deploy.yml}]\n")
    repo.write("ci/deploy.yml", "deploy:\n  script: [echo deploy]\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("ci/deploy.yml", "deploy:\n  script: [kubectl apply -f k8s/]\n")
    repo.commit("deploy from the child pipeline")
    found = scan_change(repo.root, "main").verdict.blocking
    assert sorted((f.file, f.line, f.status) for f in found) == [("ci/deploy.yml", 2, "new")]


def test_templates_references_and_the_values_a_script_spells(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`extends:` a template of another file with its `variables:`, a `!reference` to a key
    that is no script section, `parallel: matrix` and `rules: variables` values, and
    `$[[ inputs.x ]]` of an included file's `spec:` (its default, and what `include:`
    passes). A template used by a job is judged through that job, once."""
    write(
        ".gitlab-ci.yml",
        "include:\n  - local: ci/templates.yml\n    rules: [{if: $CI_COMMIT_BRANCH}]\n"
        "  - local: ci/inputs.yml\n    inputs: {verb: delete}\n"
        "variables: {TOOL: kubectl}\n"
        "deploy:\n  extends: .deploy\n  environment: production\n"
        "lint:\n  script:\n    - !reference [.cmds, ship]\n"
        "matrix:\n  parallel:\n    matrix:\n      - {ACTION: [diff, apply]}\n"
        "  script: [$TOOL $ACTION -f k8s/]\n"
        "ruled:\n  rules:\n    - if: $CI_COMMIT_TAG\n      variables: {VERB: upgrade}\n"
        "  script: [helm $VERB web ./chart]\n",
    )
    write(
        "ci/templates.yml",
        ".base:\n  variables: {CMD: helm}\n.deploy:\n  extends: .base\n"
        "  script:\n    - $CMD rollback web\n"
        ".cmds:\n  ship: [kubectl scale deploy/web --replicas=0]\n",
    )
    write(
        "ci/inputs.yml",
        "spec:\n  inputs:\n    verb: {default: get}\n    how: {default: apply}\n---\n"
        "inputs:\n  script:\n    - kubectl $[[ inputs.verb ]] ns old\n"
        "    - kubectl $[[ inputs.how | expand_vars ]] -f k8s/\n",
    )
    assert scan(gatekeeper, tmp_path) == [
        (".gitlab-ci.yml", 17, "$TOOL $ACTION -f k8s/"),
        (".gitlab-ci.yml", 22, "helm $VERB web ./chart"),
        ("ci/inputs.yml", 8, "kubectl delete ns old"),  # as GitLab interpolates it
        ("ci/inputs.yml", 9, "kubectl apply -f k8s/"),
        ("ci/templates.yml", 6, "$CMD rollback web"),
        ("ci/templates.yml", 8, "kubectl scale deploy/web --replicas=0"),
    ]


def test_a_template_allowed_by_job_still_fails_in_the_job_that_uses_it(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """The allow list is read where the command runs: the extending job's name and its
    environment (given by the template), not the template's."""
    write(
        ".gitlab-ci.yml",
        ".deploy:\n  environment: {name: bootstrap}\n  script: [helm install argocd argo/argo-cd]\n"
        "seed:\n  extends: .deploy\nrogue:\n  extends: .deploy\n  environment: prod\n",
    )
    (tmp_path / ".gatekeeper.yml").write_text(
        "packs: [workflow]\nparams:\n  WF-GITOPS-IMPERATIVE-DEPLOY:\n"
        "    allowedEnvironments: [bootstrap]\n"
    )
    from tests.test_workflow_trust import deploys

    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert deploys(run) == [(".gitlab-ci.yml", 3, "helm install argocd argo/argo-cd")]
    assert "in job rogue" in run.stdout


def test_local_ci_steps_are_followed_and_a_change_to_one_is_judged(repo: Repo) -> None:
    """`run: - step: ./ci/deploy` runs the step file of the repository: its `exec:
    command:` (after the spec document) or its own steps' scripts."""
    repo.write(".gatekeeper.yml", "packs: [workflow]\n")
    repo.write(
        ".gitlab-ci.yml",
        "deploy:\n  run:\n    - name: ship\n      step: ./ci/deploy\n"
        "    - name: more\n      step: ./ci/more.yml\n      inputs: {x: 1}\n",
    )
    repo.write("ci/deploy/step.yml", "spec: {}\n---\nexec:\n  command: [echo, ok]\n")
    repo.write("ci/more.yml", "spec: {}\n---\nsteps:\n  - name: a\n    script: make test\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        "ci/deploy/step.yml", "spec: {}\n---\nexec:\n  command: [kubectl, apply, -f, k8s/]\n"
    )
    repo.write(
        "ci/more.yml", "spec: {}\n---\nsteps:\n  - name: a\n    script: helm upgrade web .\n"
    )
    repo.commit("deploy from local steps")
    found = scan_change(repo.root, "main").verdict.blocking
    assert sorted((f.file, f.line, f.status) for f in found) == [
        ("ci/deploy/step.yml", 4, "new"),
        ("ci/more.yml", 5, "new"),
    ]


def test_yaml_merge_keys_bring_a_templates_scripts() -> None:
    """`<<: *template` (one or a list) merges the anchored job's keys into the job."""
    from gatekeeper.sources import LoadContext, workflow

    text = (
        ".tpl: &tpl\n  script: [kubectl apply -f a]\n"
        ".b: &b {before_script: [helm upgrade x .]}\n"
        "deploy:\n  <<: [*b, *tpl]\n  stage: deploy\n"
    )
    (document,) = workflow.load(".gitlab-ci.yml", text.encode(), LoadContext()).documents
    steps = document.obj["jobs"]["deploy"]["steps"]
    assert [(c["line"], c["signature"]) for s in steps for c in s["commands"]] == [
        (3, "helm upgrade x ."),
        (2, "kubectl apply"),
    ]
