"""What CI's kubectl commands write from their command line is judged at the command (red team
s18 trust10 v08: with WF-GITOPS-IMPERATIVE-DEPLOY waived, `kubectl patch -p` adding
hostNetwork, a privileged `kubectl run` or a namespace labelled `enforce=privileged` passed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, git_in

DIGEST = "ghcr.io/acme/app:1.0@sha256:" + "0" * 64


def _workflow(command: str, setup: str = "") -> str:
    steps = f"      - run: {setup}\n" if setup else ""
    return (
        "on: push\npermissions:\n  contents: read\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
        f"    steps:\n{steps}      - run: |\n          {command}\n"
    )


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "kubectl -n app patch deployment web -p "
            """'{"spec":{"template":{"spec":{"hostNetwork":true}}}}'""",
            ["K8S-PSS-HOST-NAMESPACES"],
        ),
        (
            "kubectl patch deploy/web --type=json -p "
            """'[{"op":"add","path":"/spec/template/spec/hostPID","value":true}]'""",
            ["K8S-PSS-HOST-NAMESPACES"],
        ),
        (
            "kubectl patch daemonset agent -p "
            """'{"spec":{"template":{"spec":{"containers":"""
            """[{"name":"a","securityContext":{"privileged":true}}]}}}}'""",
            ["K8S-PSS-PRIVILEGED"],
        ),
        (f"kubectl run dbg --image={DIGEST} --privileged -- sleep 1d", ["K8S-PSS-PRIVILEGED"]),
        # the image kubectl run starts, judged as `kubectl create deployment --image` is
        (
            "kubectl -n app run smoke --rm -i --image=ghcr.io/acme/curl:latest -- curl web",
            ["K8S-IMAGE-DIGEST", "K8S-IMAGE-TAG-PINNED"],
        ),
        (f"kubectl run smoke --rm -i --image={DIGEST} -- curl web", []),
        (
            f"kubectl run job --image={DIGEST} --env=LOG=debug --env DB_PASSWORD=s3cr3tPassw0rd",
            ["K8S-POD-ENV-SECRETS"],
        ),
        ('kubectl run smoke --image="$IMAGE"', []),
        (
            "kubectl label ns app pod-security.kubernetes.io/enforce=privileged --overwrite",
            ["K8S-ADMISSION-POD-SECURITY"],
        ),
        # s18 trust11 w01: bindings to cluster-admin and privileged debug containers
        (
            "kubectl create clusterrolebinding ci-admin --clusterrole=cluster-admin "
            "--serviceaccount=ci:deployer",
            ["K8S-RBAC-CLUSTER-ADMIN"],
        ),
        (
            "kubectl -n app create rolebinding ci-admin --clusterrole cluster-admin "
            "--serviceaccount app:default",
            ["K8S-RBAC-CLUSTER-ADMIN"],
        ),
        ("kubectl create clusterrolebinding ci-view --clusterrole=view --group=ci", []),
        (
            f"kubectl debug node/worker-1 -it --image={DIGEST} --profile=sysadmin -- id",
            ["K8S-PSS-HOST-NAMESPACES", "K8S-PSS-HOST-PATH", "K8S-PSS-PRIVILEGED"],
        ),
        # s20 trust13 s07: a node's debug pod with the default (legacy) or general profile
        # shares the host's namespaces and mounts its root at /host; oc's is privileged too
        (
            f"kubectl debug node/worker-1 -it --image={DIGEST} -- chroot /host id",
            ["K8S-PSS-HOST-NAMESPACES", "K8S-PSS-HOST-PATH"],
        ),
        (
            f"kubectl debug node/worker-1 --profile general --image={DIGEST} -- chroot /host",
            ["K8S-PSS-HOST-NAMESPACES", "K8S-PSS-HOST-PATH"],
        ),
        (
            "oc debug node/worker-1 -- chroot /host id",
            [
                "K8S-PSS-HOST-NAMESPACES",
                "K8S-PSS-HOST-PATH",
                "K8S-PSS-PRIVILEGED",
                "K8S-PSS-RUN-AS-USER",
            ],
        ),
        # s20 trust13 s08: roles written from the command line, cluster-admin's binding given a
        # subject
        ("kubectl create clusterrole ci-all --verb='*' --resource='*'", ["K8S-RBAC-WILDCARD"]),
        (
            "kubectl create clusterrole reader --verb=get --verb=list --resource=secrets",
            ["K8S-RBAC-SECRETS-READ"],
        ),
        (
            "kubectl create clusterrole ops --verb=get,list,watch --resource=pods,deployments.apps",
            [],
        ),
        (
            "kubectl set subject clusterrolebinding cluster-admin --serviceaccount=ci:deployer",
            ["K8S-RBAC-CLUSTER-ADMIN"],
        ),
        ("kubectl set subject rolebinding/app-view --serviceaccount=app:ci", []),
        (f"kubectl debug node/worker-1 --profile=baseline --image={DIGEST} -- id", []),
        (f"kubectl debug node/worker-1 --profile=restricted --image={DIGEST} -- id", []),
        (
            f"kubectl -n app debug web-0 -it --image {DIGEST} --profile sysadmin --target=web",
            ["K8S-PSS-PRIVILEGED"],
        ),
        (f"kubectl debug web-0 -it --image={DIGEST} --profile=general", []),
        (
            f"kubectl run dbg --image={DIGEST} --override-type json --overrides "
            """'[{"op":"add","path":"/spec/hostPID","value":true}]'""",
            ["K8S-PSS-HOST-NAMESPACES"],
        ),
        # the enforce label removed: the cluster's default
        (
            "kubectl label ns app pod-security.kubernetes.io/enforce-",
            ["K8S-ADMISSION-POD-SECURITY"],
        ),
        ("kubectl label ns app team- pod-security.kubernetes.io/warn-", []),
        # what the partial object lacks (probes, resources, labels) is not said
        ("""kubectl patch deployment web -p '{"spec":{"replicas":3}}'""", []),
        ("kubectl label ns app pod-security.kubernetes.io/enforce=restricted", []),
        # computed: not read here
        ('kubectl patch deployment web -p "$PATCH"', []),
        # s19 trust12 t02: `kubectl set image|env` (TYPE/NAME or TYPE NAME; oc's DeploymentConfig)
        (
            "kubectl -n app set image deployment/web app=ghcr.io/acme/app:latest",
            ["K8S-IMAGE-DIGEST", "K8S-IMAGE-TAG-PINNED"],
        ),
        (
            "kubectl set image cronjob nightly '*=ghcr.io/acme/job:latest'",
            ["K8S-IMAGE-DIGEST", "K8S-IMAGE-TAG-PINNED"],
        ),
        ("kubectl set env deployment/web DB_PASSWORD=s3cr3tPassw0rd", ["K8S-POD-ENV-SECRETS"]),
        ("oc set env dc/web -c app -e API_TOKEN=s3cr3tT0kenValue", ["K8S-POD-ENV-SECRETS"]),
        (f"kubectl set image deployment/web app={DIGEST}", []),
        ("kubectl set env deployment/web --from=secret/db LOG_LEVEL=debug", []),
        ('kubectl set image deployment/web app=ghcr.io/acme/app:"$TAG"', []),
        ("kubectl set resources deployment/web --limits=cpu=200m", []),
        # s19 trust12 t07: `kubectl create deployment|cronjob|job --image`
        (
            "kubectl create deployment web --image=ghcr.io/acme/web:latest --replicas=2",
            ["K8S-IMAGE-DIGEST", "K8S-IMAGE-TAG-PINNED"],
        ),
        (f"kubectl create cronjob c --image={DIGEST} --schedule='*/5 * * * *'", []),
        ('kubectl create job j --image="$IMAGE"', []),
        # s19 trust12 t08: namespaces chosen by selector or --all; `oc set volume` hostPath
        (
            "kubectl label ns -l team=a pod-security.kubernetes.io/enforce=privileged --overwrite",
            ["K8S-ADMISSION-POD-SECURITY"],
        ),
        (
            "kubectl label ns --all pod-security.kubernetes.io/enforce-",
            ["K8S-ADMISSION-POD-SECURITY"],
        ),
        (
            "oc set volume dc/web --add --type hostPath --path / --mount-path /host",
            ["K8S-PSS-HOST-PATH"],
        ),
        ("oc set volume dc/web --add --type=emptyDir --mount-path=/tmp", []),
        # s19 trust12 t01: the bindings `oc adm policy` writes
        ("oc adm policy add-scc-to-user privileged -z app -n team", ["K8S-RBAC-SCC-BINDING"]),
        (
            "oc adm policy add-scc-to-group anyuid system:serviceaccounts:team",
            ["K8S-RBAC-SCC-BINDING"],
        ),
        ("oc adm policy add-cluster-role-to-user cluster-admin -z ci", ["K8S-RBAC-CLUSTER-ADMIN"]),
        ("oc policy add-role-to-user --role-namespace team admin bob", []),
        ("oc adm policy add-scc-to-user restricted-v2 -z app -n team", []),
    ],
)
def test_inline_kubectl_writes_are_judged_at_the_command(
    tmp_path: Path, gatekeeper: Callable[..., Run], command: str, expected: list[str]
) -> None:
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(_workflow(command))
    (tmp_path / ".gatekeeper.yml").write_text("disable: [WF-GITOPS-IMPERATIVE-DEPLOY]\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    at_command = [f for f in findings if f["line"] == 9 and f["policy_id"].startswith("K8S-")]
    assert sorted({f["policy_id"] for f in at_command}) == expected
    assert all(f["file"] == ".github/workflows/deploy.yml" for f in at_command)
    assert run.returncode == (1 if expected else 0), run.stdout[-1500:]


def test_inline_kubectl_in_a_throwaway_cluster_job_is_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    workflow = tmp_path / ".github" / "workflows" / "e2e.yml"
    workflow.parent.mkdir(parents=True)
    command = f"kubectl run dbg --image={DIGEST} --privileged -- sleep 1d"
    workflow.write_text(_workflow(command, setup="kind create cluster"))
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    assert not [f for f in findings if f["policy_id"].startswith("K8S-")]


def test_patch_file_of_the_repository_is_judged_and_its_change_alone_rejudges(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`kubectl patch --patch-file deploy/patch.yaml`: the file is the patch (not a manifest,
    nothing else judges it); a pull request changing only it judges the command again."""
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        _workflow("kubectl -n app patch deployment web --patch-file deploy/patch.yaml")
    )
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "patch.yaml").write_text("spec:\n  replicas: 2\n")
    (tmp_path / ".gatekeeper.yml").write_text("disable: [WF-GITOPS-IMPERATIVE-DEPLOY]\n")
    git_in(tmp_path, "init", "-q", "-b", "main")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "checkout", "-qb", "pr")
    (tmp_path / "deploy" / "patch.yaml").write_text(
        "spec:\n  template:\n    spec:\n      hostNetwork: true\n"
    )
    git_in(tmp_path, "commit", "-qam", "host network")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    said = [(f["policy_id"], f["file"], f["line"], f["blocking"]) for f in findings]
    assert ("K8S-PSS-HOST-NAMESPACES", ".github/workflows/deploy.yml", 9, True) in said
    assert run.returncode == 1


def test_inline_kubectl_aimed_at_another_cluster_from_a_throwaway_job_is_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`kind create cluster`, then `kubectl --context prod patch ...`: the patch goes to prod
    (red team s18 z05)."""
    workflow = tmp_path / ".github" / "workflows" / "e2e.yml"
    workflow.parent.mkdir(parents=True)
    command = (
        "kubectl --context prod patch deployment web -p "
        """'{"spec":{"template":{"spec":{"hostNetwork":true}}}}'"""
    )
    workflow.write_text(_workflow(command, setup="kind create cluster"))
    (tmp_path / ".gatekeeper.yml").write_text("disable: [WF-GITOPS-IMPERATIVE-DEPLOY]\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    assert [f["policy_id"] for f in findings if f["policy_id"].startswith("K8S-")] == [
        "K8S-PSS-HOST-NAMESPACES"
    ]
    assert run.returncode == 1


def test_objects_kubectl_reads_from_its_standard_input_are_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`kubectl apply -f - <<EOF` with a privileged Pod, `echo '{...}' | kubectl create -f -`
    with a hostNetwork one, a `kind: List` through a here-string: each judged at its command
    (red team s19 trust12 t07: green on e652d0a with WF-GITOPS-IMPERATIVE-DEPLOY waived); a
    heredoc CI expands (`$TAG`) is not read."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: dbg\nspec:\n  containers:\n"
        f"    - name: a\n      image: {DIGEST}\n      securityContext:\n        privileged: true\n"
    )
    body = "".join(f"          {line}\n" for line in pod.splitlines())
    host = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "h"},
            "spec": {"hostNetwork": True, "containers": [{"name": "a", "image": DIGEST}]},
        }
    )
    listed = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [json.loads(host) | {"metadata": {"name": "l"}}],
        }
    )
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\npermissions:\n  contents: read\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: |\n          kubectl apply -f - <<EOF\n"
        + body
        + "          EOF\n"
        + f"          echo '{host}' | kubectl create -f -\n"
        + f"          kubectl apply -f - <<< '{listed}'\n"
        + "          kubectl apply -f - <<EOF\n"
        + body.replace(DIGEST, "ghcr.io/acme/app:$TAG")
        + "          EOF\n"
    )
    (tmp_path / ".gatekeeper.yml").write_text("disable: [WF-GITOPS-IMPERATIVE-DEPLOY]\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["line"], f["policy_id"], f["name"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"].startswith("K8S-")
    )
    assert found == [
        (9, "K8S-PSS-PRIVILEGED", "dbg"),
        (21, "K8S-PSS-HOST-NAMESPACES", "h"),
        (22, "K8S-PSS-HOST-NAMESPACES", "l"),
    ]
    assert run.returncode == 1


def _ci_edit_repo(tmp_path: Path, pod: str, script: str) -> None:
    """A repository whose CI (the imperative-deploy rule waived) runs `script` over
    deploy/app.yaml (`pod`) and deploy/host.yaml (the same pod named h), committed on main."""
    workflow = tmp_path / ".github" / "workflows" / "deploy.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\npermissions:\n  contents: read\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: |\n"
        + "".join(f"          {line}\n" for line in script.split("\n"))
    )
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(pod)
    (tmp_path / "deploy" / "host.yaml").write_text(pod.replace("name: p", "name: h"))
    (tmp_path / ".gatekeeper.yml").write_text("disable: [WF-GITOPS-IMPERATIVE-DEPLOY]\n")
    git_in(tmp_path, "init", "-q", "-b", "main")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")


def _at_ci_file(
    gatekeeper: Callable[..., Run], tmp_path: Path, *args: str
) -> list[tuple[int, str]]:
    """(line, policy) of the Kubernetes findings a scan says at the CI file."""
    run = gatekeeper("scan", *args, "--format", "json", cwd=tmp_path)
    return sorted(
        (f["line"], f["policy_id"])
        for f in json.loads(run.stdout)["findings"]
        if f["file"] == ".github/workflows/deploy.yml" and f["policy_id"].startswith("K8S-")
    )


def test_a_manifest_ci_edits_in_place_before_applying_is_judged_as_edited(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`sed -i 's/privileged: false/privileged: true/' deploy/app.yaml` and `yq -i
    '.spec.hostNetwork = true' deploy/app.yaml` before `kubectl apply -f deploy/`: the
    repository's file is clean, the cluster gets the edited one (red team s19 trust12 t09).
    Judged at the edit against the file before it; a pull request changing only the file so
    that the edit now matches is judged again; a computed edit (`$IMAGE`) is not read."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        f"    - name: app\n      image: {DIGEST}\n      securityContext:\n"
        "        allowPrivilegeEscalation: false\n"
    )
    _ci_edit_repo(
        tmp_path,
        pod,
        "sed -i 's/privileged: false/privileged: true/g' deploy/app.yaml\n"
        "yq -i '.spec.hostNetwork = true | .metadata.labels.a = \"b\"' deploy/host.yaml\n"
        'sed -i "s|ghcr.io/acme/app|$IMAGE|" deploy/app.yaml\n'
        "kubectl apply -f deploy/",
    )
    # nothing for sed to change yet
    assert _at_ci_file(gatekeeper, tmp_path, ".") == [(10, "K8S-PSS-HOST-NAMESPACES")]
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    edited = pod.replace("allowPrivilegeEscalation: false", "privileged: false")
    (tmp_path / "deploy" / "app.yaml").write_text(edited)
    git_in(tmp_path, "commit", "-qam", "a clean-looking manifest")
    assert _at_ci_file(gatekeeper, tmp_path, "--base", "main") == [(9, "K8S-PSS-PRIVILEGED")]


def test_a_manifest_ci_edits_in_a_pipe_into_kubectl_is_judged_as_edited(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`sed 's/privileged: false/privileged: true/' deploy/app.yaml | kubectl apply -f -` and
    `yq '.spec.hostNetwork = true' deploy/host.yaml | kubectl apply -f -`: the edit reaches
    the cluster without touching the file, as with `sed -i` (red team s19 trust12 left it);
    a sed whose output kubectl does not read (`-f deploy/`) edits nothing applied."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        f"    - name: app\n      image: {DIGEST}\n      securityContext:\n"
        "        privileged: false\n        allowPrivilegeEscalation: false\n"
    )
    _ci_edit_repo(
        tmp_path,
        pod,
        "sed 's/privileged: false/privileged: true/' deploy/app.yaml |\n"
        "  kubectl apply -f -\n"
        "yq '.spec.hostNetwork = true' deploy/host.yaml | kubectl apply -f -\n"
        "sed 's/privileged: false/privileged: true/' deploy/app.yaml | grep -c p",
    )
    assert _at_ci_file(gatekeeper, tmp_path, ".") == [
        (9, "K8S-PSS-PRIVILEGED"),
        (11, "K8S-PSS-HOST-NAMESPACES"),
    ]


def test_a_sed_address_and_perl_in_place_edit_are_judged_as_edited(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`sed -i '/securityContext/,/privileged/ s/false/true/'`, `sed -i '11s/...'` and `perl
    -pi -e 's/.../.../'` edited the clean manifest before `kubectl apply` unread: an address
    or perl hid the edit (red team s20 trust13 s09). The address selects the lines it edits:
    `/image:/ s/false/true/` leaves `privileged: false` alone."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        f"    - name: app\n      image: {DIGEST}\n      securityContext:\n"
        "        privileged: false\n"
    )
    _ci_edit_repo(
        tmp_path,
        pod,
        "sed -i '/image:/ s/false/true/' deploy/app.yaml\n"
        "sed -i '/securityContext/,/privileged/ s/privileged: false/privileged: true/' "
        "deploy/app.yaml\n"
        "sed -i '10s/false/true/' deploy/host.yaml\n"
        "perl -i.bak -pe 's/privileged: false/privileged: true/g' deploy/host.yaml\n"
        "kubectl apply -f deploy/",
    )
    assert _at_ci_file(gatekeeper, tmp_path, ".") == [
        (10, "K8S-PSS-PRIVILEGED"),
        (11, "K8S-PSS-PRIVILEGED"),
        (12, "K8S-PSS-PRIVILEGED"),
    ]


def test_a_manifest_ci_replaces_before_applying_is_judged_as_replaced(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`cat > deploy/app.yaml <<EOF` (a privileged Pod) or `cp ci/pod.txt deploy/host.yaml`
    before `kubectl apply -f deploy/`: the repository's manifests are clean, the cluster gets
    what replaced them, which nothing judged (red team s20 trust13 s09). A pull request
    changing only the copied file judges the command again."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        f"    - name: app\n      image: {DIGEST}\n      securityContext:\n"
        "        privileged: false\n"
    )
    heredoc = pod.replace("privileged: false", "privileged: true").rstrip("\n")
    _ci_edit_repo(
        tmp_path,
        pod,
        "cat > deploy/app.yaml <<'EOF'\n" + heredoc + "\nEOF\n"
        "cp ci/pod.txt deploy/host.yaml\nkubectl apply -f deploy/",
    )
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "pod.txt").write_text(pod.replace("name: p", "name: h"))
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "copy source as clean as the file it replaces")
    assert _at_ci_file(gatekeeper, tmp_path, ".") == [(9, "K8S-PSS-PRIVILEGED")]
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    (tmp_path / "ci" / "pod.txt").write_text(
        pod.replace("name: p", "name: h").replace("privileged: false", "privileged: true")
    )
    git_in(tmp_path, "commit", "-qam", "only the copied file")
    assert _at_ci_file(gatekeeper, tmp_path, "--base", "main") == [(21, "K8S-PSS-PRIVILEGED")]


def test_a_yq_edit_of_a_value_ci_computes_is_not_read_as_that_text(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`yq e '.spec.ref.tag=strenv(VERSION)' -i source.yaml` (a version bump that opens a pull
    request: flux2-multi-tenancy) was read as the tag `strenv(VERSION)`, a moving tag: a
    blocking GITOPS-FLUX-OCIREPOSITORY-PINNED at the command. What CI computes is not read,
    as a `$VALUE` in sed is not; a literal value the edit writes still is."""
    source = (
        "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\n"
        "metadata:\n  name: tool\n  namespace: flux-system\nspec:\n  interval: 1h\n"
        "  url: oci://ghcr.io/acme/manifests/tool\n  ref:\n    tag: v1.2.3\n"
    )
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "source.yaml").write_text(source)
    (tmp_path / "infra" / "other.yaml").write_text(source.replace("name: tool", "name: o"))
    workflow = tmp_path / ".github" / "workflows" / "bump.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: workflow_dispatch\npermissions:\n  contents: read\njobs:\n  bump:\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - env:\n"
        "          VERSION: ${{ inputs.version }}\n        run: |\n"
        "          yq e '.spec.ref.tag=strenv(VERSION)' -i ./infra/source.yaml\n"
        "          yq -i '.spec.ref.tag = env(VERSION) | .spec.interval = \"2h\"'"
        " infra/source.yaml\n"
        "          yq -i '.spec.ref.tag = \"v\" + strenv(VERSION)' infra/source.yaml\n"
        "          yq -i '.spec.ref.tag = .spec.ref.semver' infra/source.yaml\n"
        "          yq -i '.spec.ref.tag = \"latest\"' infra/other.yaml\n"
    )
    git_in(tmp_path, "init", "-q", "-b", "main")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["line"], f["policy_id"])
        for f in json.loads(run.stdout)["findings"]
        if f["file"] == ".github/workflows/bump.yml" and f["policy_id"].startswith("GITOPS-")
    )
    assert found == [(15, "GITOPS-FLUX-OCIREPOSITORY-PINNED")]
