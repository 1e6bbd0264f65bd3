"""Cloud Build, Azure Pipelines, Bitbucket Pipelines and CircleCI pipelines are read as
workflows (red team r06 of the ninth session): a step that runs `kubectl apply` or `helm
upgrade` is an imperative deploy, at its line, as in a GitHub workflow."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

POLICY = "WF-GITOPS-IMPERATIVE-DEPLOY"


def deploys(root: Path, name: str, text: str) -> list[int]:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted(f.line for f in report.verdict.findings if f.policy_id == POLICY)


def test_cloud_build_steps(tmp_path: Path) -> None:
    config = (
        "steps:\n"
        "- name: gcr.io/cloud-builders/docker\n"  # 2
        "  args: [build, -t, gcr.io/p/app, .]\n"
        "- name: gcr.io/cloud-builders/kubectl\n"  # 4
        "  args: [apply, -f, k8s/]\n"  # 5
        "- name: gcr.io/google.com/cloudsdktool/cloud-sdk\n"
        "  entrypoint: bash\n"
        "  args:\n"
        "  - -c\n"
        "  - |\n"  # 10
        "    gcloud container clusters get-credentials c\n"
        "    helm upgrade --install web ./chart\n"  # 12
        "- name: gcr.io/cloud-builders/gke-deploy\n"
        "  args: [run, --filename=k8s/, --cluster=c]\n"  # 14
        "- name: ubuntu\n"
        "  script: kubectl rollout restart deploy/web\n"  # 16
    )
    assert deploys(tmp_path, "cloudbuild.yaml", config) == [5, 12, 14, 16]


def test_azure_pipelines_scripts_and_deploying_tasks(tmp_path: Path) -> None:
    config = (
        "stages:\n"
        "- stage: deploy\n"
        "  jobs:\n"
        "  - deployment: web\n"
        "    strategy:\n"
        "      runOnce:\n"
        "        deploy:\n"
        "          steps:\n"
        "          - bash: kubectl apply -f k8s/\n"  # 9
        "          - task: HelmDeploy@0\n"  # 10
        "            inputs: {command: upgrade, chartPath: chart, releaseName: web}\n"
        "  - job: test\n"
        "    steps:\n"
        "    - script: make test\n"
        "    - task: Kubernetes@1\n"  # 15
        "      inputs: {command: apply, arguments: -f k8s/}\n"
    )
    assert deploys(tmp_path, "azure-pipelines.yml", config) == [9, 10, 15]


def test_bitbucket_steps_and_pipes(tmp_path: Path) -> None:
    config = (
        "pipelines:\n"
        "  branches:\n"
        "    main:\n"
        "    - step:\n"
        "        script:\n"
        "        - make build\n"
        "        - kubectl run debug --image=busybox --privileged\n"  # 7
        "    - parallel:\n"
        "      - step:\n"
        "          script:\n"
        "          - pipe: atlassian/kubectl-run:3.1.2\n"  # 11
        "            variables: {KUBECTL_COMMAND: apply, RESOURCE_PATH: k8s/}\n"
    )
    assert deploys(tmp_path, "bitbucket-pipelines.yml", config) == [7, 11]


def test_circleci_run_steps_and_orb_commands(tmp_path: Path) -> None:
    config = (
        "version: 2.1\n"
        "orbs: {kubernetes: circleci/kubernetes@1.3.1}\n"
        "jobs:\n"
        "  deploy:\n"
        "    docker: [{image: cimg/base:2024.01}]\n"
        "    steps:\n"
        "    - checkout\n"
        "    - run: helm upgrade --install web ./chart\n"  # 8
        "    - run:\n"
        "        name: apply\n"
        "        command: kubectl apply -f k8s/\n"  # 11
        "    - kubernetes/create-or-update-resource:\n"  # 12
        "        resource-file-path: k8s/web.yaml\n"
    )
    assert deploys(tmp_path, ".circleci/config.yml", config) == [8, 11, 12]


def test_merge_keys_and_other_file_names(tmp_path: Path) -> None:
    """Red team s25, s17, s10: a Bitbucket step taken from a definition with `<<: *deploy`,
    `cloudbuild-prod.yaml`, and CircleCI's `continue_config.yml`."""
    bitbucket = (
        "definitions:\n"
        "  steps:\n"
        "    - step: &deploy\n"
        "        name: deploy\n"
        "        script:\n"
        "          - kubectl apply -f k8s/\n"  # 6
        "pipelines:\n"
        "  default:\n"
        "    - step:\n"
        "        <<: *deploy\n"
    )
    assert deploys(tmp_path / "a", "bitbucket-pipelines.yml", bitbucket) == [6]
    step = "steps:\n- name: ubuntu\n  script: kubectl apply -f k8s/\n"
    assert deploys(tmp_path / "b", "ci/cloudbuild-prod.yaml", step) == [3]
    circle = "version: 2.1\njobs:\n  d:\n    steps:\n    - run: kubectl apply -f k8s/\n"
    assert deploys(tmp_path / "c", ".circleci/continue_config.yml", circle) == [5]


def test_conditional_circleci_steps_and_azure_cmdline_tasks(tmp_path: Path) -> None:
    """Red team s09 and s07: steps under CircleCI's `when`, an Azure `CmdLine@2` task."""
    circle = (
        "version: 2.1\n"
        "jobs:\n"
        "  d:\n"
        "    steps:\n"
        "    - when:\n"
        "        condition: true\n"
        "        steps:\n"
        "        - run: kubectl apply -f k8s/\n"  # 8
    )
    assert deploys(tmp_path / "a", ".circleci/config.yml", circle) == [8]
    azure = "steps:\n- task: CmdLine@2\n  inputs:\n    script: kubectl apply -f k8s/\n"
    assert deploys(tmp_path / "b", "azure-pipelines.yml", azure) == [4]
