"""Files CI applies with kubectl under names no adapter reads are judged as manifests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, git_in

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n"
    "    image: nginx:1.0\n    securityContext: {privileged: true}\n"
)
HEAD = "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n"


def _repository(root: Path, script: str, files: dict[str, str]) -> None:
    """A base with the CI script and an empty ConfigMap under `deploy/app.tpl`; the pull
    request turns that file into a privileged Pod."""
    for name, text in {"deploy/app.tpl": "apiVersion: v1\nkind: ConfigMap\n", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    workflow = root / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(HEAD + "".join(f"          {line}\n" for line in script.splitlines()))
    git_in(root, "init", "-q")
    git_in(root, "add", "-A")
    git_in(root, "commit", "-qm", "base")
    git_in(root, "branch", "base")
    (root / "deploy" / "app.tpl").write_text(POD)
    git_in(root, "commit", "-qam", "a privileged pod under another name")


@pytest.mark.parametrize(
    ("script", "files"),
    [
        ("kubectl apply -f deploy/app.tpl", {}),
        ("cd deploy && kubectl apply --filename=app.tpl", {}),
        # made from it at run time, or fed another way (red team s17 y05)
        ("kubectl apply -f <(envsubst < deploy/app.tpl)", {}),
        ("envsubst < deploy/app.tpl > /tmp/app.yaml && kubectl apply -f /tmp/app.yaml", {}),
        ("cp deploy/app.tpl out.yaml\nkubectl apply -f out.yaml", {}),
        ('kubectl apply -f - <<< "$(cat deploy/app.tpl)"', {}),
        ("gomplate -f deploy/app.tpl | kubectl apply -f -", {}),
        # a group piped on runs in a subshell: its cd does not last (red team s17 y03)
        ("{ cd deploy; ls; } | tee log\nkubectl apply -f deploy/app.tpl", {}),
        ("oc create -f deploy/*.tpl", {}),
        ("kubectl apply -Rf deploy/app.tpl", {}),  # pflag: combined short flags
        ("kubectl apply -fdeploy/app.tpl --server-side", {}),
        ("kubectl apply -f deploy/a.yaml,deploy/app.tpl", {}),  # a list, split at commas
        ('for f in deploy/*; do kubectl apply -f "$f"; done', {}),
        ("ls deploy/app.tpl | xargs -n1 kubectl apply -f", {}),
        ("cat deploy/app.tpl | kubectl apply -f -", {}),
        ("envsubst < deploy/app.tpl | kubectl apply -f -", {}),
        ("kubectl replace --force -f - < deploy/app.tpl", {}),
        ("./hack/deploy.sh", {"hack/deploy.sh": "#!/bin/sh\ncd deploy\nkubectl apply -f app.tpl"}),
        # other shell spellings (red team s18 v07)
        ("env -C deploy kubectl apply -f app.tpl", {}),
        ("find deploy -name '*.tpl' -exec kubectl apply -f {} \\;", {}),
        ("ls deploy/* | xargs -I{} kubectl apply -f {}", {}),
        ('kubectl apply -f "$(ls deploy/*.tpl)"', {}),
        ("for f in $(ls deploy); do kubectl apply -f deploy/$f; done", {}),
        ("git show HEAD:deploy/app.tpl | kubectl apply -f -", {}),
        # kapp deploy reads a file named on its own whatever its name (red team s21 trust14)
        ("kapp deploy -a app -f deploy/app.tpl -y", {}),
        ("kapp deploy --app app --file=deploy/app.tpl --yes", {}),
    ],
)
def test_a_manifest_ci_applies_under_another_name_is_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run], script: str, files: dict[str, str]
) -> None:
    """kubectl applies a file named on its own whatever its name: a pull request putting a
    privileged Pod in `deploy/app.tpl`, which CI applies, passed green (every adapter goes by
    name) wherever the imperative deploy itself was waived."""
    _repository(tmp_path, script, files)
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    privileged = [(f["file"], f["line"]) for f in found if f["policy_id"] == "K8S-PSS-PRIVILEGED"]
    assert privileged == [("deploy/app.tpl", 9)]
    assert run.returncode == 1


def test_a_file_a_loop_hands_kubectl_that_holds_no_objects_is_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`for f in deploy/*` also hands kubectl deploy/README.md, which holds no object (kubectl
    fails on it): not judged as a manifest (no parse errors of prose); deploy/app.tpl is."""
    _repository(tmp_path, 'for f in deploy/*; do kubectl apply -f "$f"; done', {})
    (tmp_path / "deploy" / "README.md").write_text("# Deploy\n\n- step: one: two\n")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    assert {f["file"] for f in found if f["file"].startswith("deploy/")} == {"deploy/app.tpl"}


@pytest.mark.parametrize(
    "script",
    [
        "kubectl apply -f deploy/",  # a folder: kubectl reads only its .yaml/.yml/.json files
        "kubectl apply -R -f deploy",
        "kubectl get -f deploy/app.tpl",  # reads, applies nothing
        "kubectl apply -nfdeploy/app.tpl -f deploy/",  # `-n fdeploy/app.tpl`: not a file
        "helm template deploy/app.tpl",
    ],
)
def test_a_file_kubectl_does_not_apply_is_not_judged_as_a_manifest(
    tmp_path: Path, gatekeeper: Callable[..., Run], script: str
) -> None:
    _repository(tmp_path, script, {})
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    assert [f for f in found if f["file"] == "deploy/app.tpl"] == []


def test_a_pull_request_pointing_kubectl_at_a_file_already_there_judges_it(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """The privileged Pod sits in `deploy/app.tpl` from the base on, applied by nothing; the
    pull request changes only the workflow, to apply it: the file is judged in the PR."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.tpl").write_text(POD)
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(HEAD + "          kubectl apply -f deploy/\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "branch", "base")
    workflow.write_text(HEAD + "          kubectl apply -f deploy/app.tpl\n")
    git_in(tmp_path, "commit", "-qam", "apply it")
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    privileged = [(f["file"], f["status"]) for f in found if f["policy_id"] == "K8S-PSS-PRIVILEGED"]
    assert privileged == [("deploy/app.tpl", "new")]
    assert run.returncode == 1


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("azure-pipelines.yml", "steps:\n- script: kubectl apply -f deploy/app.tpl\n"),
        (
            "bitbucket-pipelines.yml",
            "pipelines:\n  default:\n  - step:\n      script: [kubectl apply -f deploy/app.tpl]\n",
        ),
        (".gitlab-ci.yml", "deploy:\n  script: [cd deploy, kubectl apply -f app.tpl]\n"),
    ],
)
def test_other_ci_formats_applying_a_file_under_another_name_judge_it(
    tmp_path: Path, gatekeeper: Callable[..., Run], name: str, text: str
) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.tpl").write_text(POD)
    (tmp_path / name).write_text(text)
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    privileged = [(f["file"], f["line"]) for f in found if f["policy_id"] == "K8S-PSS-PRIVILEGED"]
    assert privileged == [("deploy/app.tpl", 9)]


@pytest.mark.parametrize(
    ("sourced", "said"),
    [
        (". ./ci/env.sh", True),  # fetched in CI: it may `cd deploy`
        ('source "$GITHUB_WORKSPACE/ci/env.sh"', True),
        (". .venv/bin/activate", False),  # a virtualenv's: moves no folder
        (". ~/.profile", False),  # the runner's
    ],
)
def test_a_file_applied_after_sourcing_a_script_the_repository_lacks_is_said(
    tmp_path: Path, gatekeeper: Callable[..., Run], sourced: str, said: bool
) -> None:
    """Red team s17 y03: the pull request sources a script CI fetches, which does `cd
    deploy`, then applies `app.tpl`: deploy/app.tpl (a privileged Pod) is applied while the
    clean ./app.tpl was judged, as if the script moved nothing. Said at the apply."""
    (tmp_path / "README.md").write_text("app\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "branch", "base")
    (tmp_path / "app.tpl").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.tpl").write_text(POD)
    script = f"curl -fsSo ci/env.sh https://config.example.com/env.sh\n{sourced}\n"
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        HEAD
        + "".join(f"          {line}\n" for line in script.splitlines())
        + "          kubectl apply -f app.tpl\n"
    )
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "deploy")
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    notes = [
        (f["file"], f["line"], f["status"], f["blocking"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "GK-LOCAL-NOT-EXPANDED" and "a script the repository" in f["message"]
    ]
    assert notes == ([(".github/workflows/deploy.yml", 9, "new", True)] if said else [])
