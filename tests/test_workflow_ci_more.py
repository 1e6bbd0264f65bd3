"""Jenkins, Drone, Buildkite and Travis CI pipelines are read for the imperative-deploy rule
(red team s12 t06: a privileged `kubectl run` in any of them passed green)."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekeeper

RULE = "WF-GITOPS-IMPERATIVE-DEPLOY"


def deploys(tmp_path: Path, name: str, text: str) -> list[tuple[str, int, str]]:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    return sorted(
        (f.file, f.line, f.message)
        for f in report.verdict.findings
        if f.policy_id == RULE
    )


def test_a_jenkinsfiles_shell_steps_are_read_by_stage(tmp_path: Path) -> None:
    jenkinsfile = """\
pipeline {
  agent any
  stages {
    stage('test') { steps { sh 'make test' } }
    stage("deploy") {
      steps {
        sh '''
          echo deploying
          kubectl apply -f k8s/
        '''
        sh(script: "helm upgrade --install web charts/web", returnStatus: true)
        bat 'kubectl delete pod x'
        sh(label: 'rollout', script: 'kubectl rollout restart deploy/web')
      }
    }
  }
}
"""
    found = deploys(tmp_path, "Jenkinsfile", jenkinsfile)
    assert [(file, line) for file, line, _ in found] == [
        ("Jenkinsfile", 9),
        ("Jenkinsfile", 11),
        ("Jenkinsfile", 12),
        ("Jenkinsfile", 13),
    ]
    assert all(" in job deploy: " in said for *_, said in found)


def test_a_drone_step_list_written_twice_is_read_as_drone_reads_it(tmp_path: Path) -> None:
    """Drone parses each pipeline document with go-yaml v2, not strictly: a key written twice
    keeps its last value (a list field is set again). We read the first `steps:`, so a
    harmless one hid the deploy after it, and the duplicate went unsaid in several documents."""
    drone = """\
kind: pipeline
name: release
steps:
  - name: test
    image: golang
    commands: [go test ./...]
steps:
  - name: deploy
    image: bitnami/kubectl
    commands: [make test]
    commands:
      - kubectl apply -f k8s/
---
kind: pipeline
name: lint
steps:
  - {name: vet, image: golang, commands: [go vet ./...]}
"""
    (tmp_path / ".drone.yml").write_text(drone)
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    said = sorted((f.policy_id, f.line) for f in findings)
    assert said == [
        ("GK-YAML-DUPLICATE-KEY", 7),
        ("GK-YAML-DUPLICATE-KEY", 11),
        (RULE, 12),
    ]


def test_drone_buildkite_and_travis_commands_are_read(tmp_path: Path) -> None:
    drone = """\
kind: pipeline
name: test
steps:
  - name: test
    image: golang
    commands: [go test ./...]
---
kind: pipeline
name: deploy
steps:
  - name: deploy
    image: bitnami/kubectl
    commands:
      - kubectl apply -f k8s/
"""
    found = deploys(tmp_path / "d", ".drone.yml", drone)
    assert [(file, line) for file, line, _ in found] == [(".drone.yml", 14)]
    assert " in job deploy: kubectl apply -f k8s/" in found[0][2]
    buildkite = """\
steps:
  - command: make test
  - wait
  - group: release
    steps:
      - label: deploy
        commands:
          - helm upgrade --install web charts/web
"""
    found = deploys(tmp_path / "b", ".buildkite/pipeline.yml", buildkite)
    assert [(file, line) for file, line, _ in found] == [(".buildkite/pipeline.yml", 8)]
    travis = """\
language: minimal
script: make test
jobs:
  include:
    - stage: release
      script:
        - kubectl set image deploy/web web=ghcr.io/acme/web:2
deploy:
  provider: script
  script: kubectl rollout restart deploy/web
  on: {branch: main}
"""
    found = deploys(tmp_path / "t", ".travis.yml", travis)
    assert [(file, line) for file, line, _ in found] == [(".travis.yml", 7), (".travis.yml", 10)]


def test_a_buildkite_pipeline_written_as_its_list_of_steps_is_read(tmp_path: Path) -> None:
    """kuberay's `.buildkite/test-e2e.yml`: the agent takes a top-level list as the steps
    (go-pipeline's legacy form); it was a blocking "workflow is not a mapping" and its
    commands were never read. A list elsewhere (a GitHub workflow) is still refused."""
    listed = """\
- label: e2e
  commands:
    - make test
    - kubectl apply -f deploy/
- wait
"""
    found = deploys(tmp_path / "b", ".buildkite/test-e2e.yml", listed)
    assert [(file, line) for file, line, _ in found] == [(".buildkite/test-e2e.yml", 4)]
    report = gatekeeper.scan(tmp_path / "b", root=tmp_path / "b", jobs=1)
    assert not [f for f in report.verdict.findings if f.policy_id == "GK-PARSE-ERROR"]
    (tmp_path / "g" / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "g" / ".github" / "workflows" / "ci.yml").write_text(listed)
    report = gatekeeper.scan(tmp_path / "g", root=tmp_path / "g", jobs=1)
    assert [(f.policy_id, f.message) for f in report.verdict.findings] == [
        ("GK-PARSE-ERROR", "workflow is not a mapping")
    ]


@pytest.mark.parametrize(
    ("name", "pipeline", "line"),
    [
        (
            ".woodpecker.yml",
            "steps:\n  test:\n    image: golang\n    commands: [go test ./...]\n"
            "  deploy:\n    image: bitnami/kubectl\n    commands:\n"
            "      - kubectl apply -f k8s/\n",
            8,
        ),
        (
            ".woodpecker/deploy.yaml",
            "steps:\n  - name: deploy\n    image: bitnami/kubectl\n"
            "    commands:\n      - kubectl apply -f k8s/\n",
            5,
        ),
    ],
)
def test_woodpecker_commands_are_read(tmp_path: Path, name: str, pipeline: str, line: int) -> None:
    """Woodpecker CI (Drone's fork; steps by name or in a list) was no format gatekeeper
    read: its kubectl apply passed green (red team s21 trust14 c17)."""
    found = deploys(tmp_path, name, pipeline)
    assert [(file, at) for file, at, _ in found] == [(name, line)]


_TEKTON_RUN = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: on-push
  annotations: {pipelinesascode.tekton.dev/on-event: "[push]"}
spec:
  pipelineSpec:
    tasks:
      - name: test
        taskSpec:
          steps:
            - {name: test, image: golang:1.23, script: go test ./...}
    finally:
      - name: deploy
        taskSpec:
          steps:
            - name: apply
              image: bitnami/kubectl:1.31
              script: |
                #!/bin/sh
                kubectl apply -f deploy/
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: rollout}
spec:
  steps:
    - name: image-entrypoint
      image: bitnami/kubectl:1.31
      args: [apply, -k, overlays/prod]
    - name: command
      image: alpine/k8s:1.31.0
      command: [kubectl]
      args: [rollout, restart, deploy/web]
"""


def test_tekton_pipelines_as_code_steps_are_read(tmp_path: Path) -> None:
    """Tekton Pipelines-as-Code runs `.tekton/*.yaml` on the repository's events: a step's
    script or a kubectl image's args were judged as the step's container only, so `kubectl
    apply` passed green (red team s22 trust15 c17). The container is still judged as one."""
    found = deploys(tmp_path, ".tekton/push.yaml", _TEKTON_RUN)
    assert [(file, line) for file, line, _ in found] == [
        (".tekton/push.yaml", 21),
        (".tekton/push.yaml", 30),
        (".tekton/push.yaml", 34),
    ]
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    assert any(f.policy_id == "K8S-PSS-RUN-AS-NON-ROOT" for f in report.verdict.findings)


def test_a_jenkinsfiles_variables_holding_a_command_are_read(tmp_path: Path) -> None:
    """`def cmd = "kubectl run ..."; sh cmd` and `sh "${kube} apply ..."` run the literal
    strings the variables hold (red-team try on this session's reading of Jenkinsfiles:
    `sh cmd` passed green)."""
    jenkinsfile = """\
def kube = 'kubectl'
node {
  stage('deploy') {
    def cmd = "kubectl run dbg --image=alpine --privileged"
    sh "${kube} apply -f deploy/"
    sh cmd
    sh "echo $kube"
  }
}
"""
    found = deploys(tmp_path, "Jenkinsfile", jenkinsfile)
    assert [(file, line) for file, line, _ in found] == [("Jenkinsfile", 5), ("Jenkinsfile", 6)]
    assert "kubectl apply -f deploy/" in found[0][2]
    assert "kubectl run dbg" in found[1][2]
