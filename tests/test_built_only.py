"""A manifest that only kustomize builds deploy is judged in those builds: what it says read
alone and no build shows (an image every build replaces, a field every build patches) is not
reported (opentelemetry-operator: `image operator-opamp-bridge:latest` of a standalone
deployment whose kustomization sets the released image). The file keeps its findings when
CI applies it alone (`kubectl apply -f`), when an Argo CD Application applies a folder above
it as a directory (`recurse`: every file as written), when its build fails, and when no
kustomization takes it in."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: web:latest
          securityContext:
            privileged: true
"""
KUSTOMIZATION = """\
resources:
  - deploy.yaml
images:
  - name: web
    newName: registry.example.com/web
    newTag: "1.4.2"
patches:
  - target: {kind: Deployment, name: web}
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/securityContext/privileged
        value: false
"""


def test_a_manifest_only_builds_deploy_is_judged_in_the_builds(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    for folder in ("built", "applied", "broken", "recursed/web"):
        write(f"{folder}/deploy.yaml", DEPLOYMENT)
        write(f"{folder}/kustomization.yaml", KUSTOMIZATION)
    write(
        "broken/kustomization.yaml",
        KUSTOMIZATION.replace("deploy.yaml", "deploy.yaml\n  - gone.yaml"),
    )
    write("alone/deploy.yaml", DEPLOYMENT)
    write(
        ".github/workflows/deploy.yml",
        "on: push\njobs:\n  deploy:\n    steps:\n      - run: kubectl apply -f ./applied/\n",
    )
    write(  # Argo CD applies every file below `recursed` as written
        "app.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: all}\n"
        "spec:\n  source:\n    repoURL: https://github.com/acme/deploy\n"
        "    path: recursed\n    directory: {recurse: true}\n",
    )
    write(
        ".gatekeeper.yml",
        "packs: [kubernetes]\ndisable: [K8S-NETWORK-POLICY-PRESENT]\n"
        "sources:\n  gitops:\n    repoURLs: [https://github.com/acme/deploy]\n",
    )
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    findings = json.loads(run.stdout)["findings"]
    wanted = ("K8S-IMAGE-TAG-PINNED", "K8S-PSS-PRIVILEGED", "GK-RENDER-ERROR")
    found = sorted(
        (f["policy_id"], f["file"], f["line"]) for f in findings if f["policy_id"] in wanted
    )
    assert found == [
        ("GK-RENDER-ERROR", "broken/kustomization.yaml", 3),
        ("K8S-IMAGE-TAG-PINNED", "alone/deploy.yaml", 14),
        ("K8S-IMAGE-TAG-PINNED", "applied/deploy.yaml", 14),
        ("K8S-IMAGE-TAG-PINNED", "broken/deploy.yaml", 14),
        ("K8S-IMAGE-TAG-PINNED", "recursed/web/deploy.yaml", 14),
        ("K8S-PSS-PRIVILEGED", "alone/deploy.yaml", 16),
        ("K8S-PSS-PRIVILEGED", "applied/deploy.yaml", 16),
        ("K8S-PSS-PRIVILEGED", "broken/deploy.yaml", 16),
        ("K8S-PSS-PRIVILEGED", "recursed/web/deploy.yaml", 16),
    ]
    # The build still judges the file, at its own lines: no probes on the built container.
    probes = {f["file"] for f in findings if f["policy_id"] == "K8S-POD-LIVENESS-PROBE"}
    assert probes >= {
        "alone/deploy.yaml",
        "applied/deploy.yaml",
        "built/deploy.yaml",
        "broken/deploy.yaml",
    }


def test_a_path_ci_computes_may_be_the_file(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`kubectl apply -f "$DIR"` may apply any file as written: the file keeps its findings
    (a URL, or `docker build -f`, names none of them)."""
    write("built/deploy.yaml", DEPLOYMENT)
    write("built/kustomization.yaml", KUSTOMIZATION)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    script = "kubectl apply -f https://example.com/${V}/crds.yaml\ndocker build -f $F .\n"
    write("hack/deploy.sh", script)

    def pinned() -> list[str]:
        run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
        assert run.returncode == 1, run.stderr
        findings = json.loads(run.stdout)["findings"]
        return [f["file"] for f in findings if f["policy_id"] == "K8S-IMAGE-TAG-PINNED"]

    assert pinned() == []
    write("hack/deploy.sh", script + 'kubectl apply -f "$DIR"\n')
    assert pinned() == ["built/deploy.yaml"]


def test_what_a_computed_path_may_name_is_read_from_its_literal_part(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """kueue: a script's `-f "${CRD}"` (assigned `${ROOT}/dep/crds.yaml`), `[[ -f x-create.log
    ]]` and a server dry run of a temporary file made every kustomize base count as applied
    alone. What such a path may be is what it spells: the paths ending in its literal part, a
    variable's every value; a path that may end in the file's folder keeps its findings. So
    does a file fed to `kubectl apply -f -` (`cat built/deploy.yaml |`) and one a script
    applies from its folder (`cd built && kubectl apply -f deploy.yaml`): both passed green."""
    write("built/deploy.yaml", DEPLOYMENT)
    write("built/kustomization.yaml", KUSTOMIZATION)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    script = (
        'CRD="${ROOT}/dep/crds.yaml"\n'
        'kubectl apply --server-side -f "${CRD}"\n'
        'if [[ ! -f "${ARTIFACTS}/run-create.log" ]]; then exit 1; fi\n'
        "probe=$(mktemp)\n"
        'kubectl create --dry-run=server -f "${probe}"\n'
        'kubectl apply -f "$(dirname "$0")/../dep/crds.yaml"\n'
        "kustomize build built | kubectl apply -f -\n"  # the build, not the file
    )
    write("hack/e2e.sh", script)

    def pinned() -> list[str]:
        run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
        assert run.returncode == 1, run.stderr
        findings = json.loads(run.stdout)["findings"]
        return [f["file"] for f in findings if f["policy_id"] == "K8S-IMAGE-TAG-PINNED"]

    assert pinned() == []
    for ci, applying in (
        ("hack/a.sh", 'kubectl apply -f "${ROOT}/built/"'),  # ends with the file's folder
        ("hack/b.sh", 'kubectl apply -f "${ROOT}"/built/deploy.yaml'),
        ("hack/c.sh", 'M=$(mktemp)\nkubectl apply \\\n  -f "$M"\nM=./built/deploy.yaml'),
        ("hack/d.sh", "kubectl apply --dry-run=client -f built -o yaml | kubectl apply -f -"),
        ("hack/e.sh", "cat built/deploy.yaml | kubectl apply -f -"),  # passed green
        ("hack/f.sh", "kubectl apply -f - < ./built/deploy.yaml"),
        ("hack/g.sh", "cd built && kubectl apply -f deploy.yaml"),  # passed green
        ("hack/h.sh", "kubectl apply --dry-run=false -f built/deploy.yaml"),  # an old kubectl's
        ("hack/i.sh", "kubectl apply --dry-run=none -f built/deploy.yaml"),
        (
            ".github/workflows/e2e.yml",
            "on: push\njobs: {e2e: {steps: [run: CRD=built hack/e2e.sh]}}",
        ),
    ):
        write(ci, applying + "\n")
        assert pinned() == ["built/deploy.yaml"], applying
        (tmp_path / ci).unlink()


def test_a_file_its_folders_kustomization_leaves_out_is_applied_by_no_one(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """kubebuilder's config/default: a patch commented out of the kustomization's list is
    applied by no deployer (kubeflow: 116 findings on such patches). Named by any other file
    (skaffold's rawYaml applied microservices-demo's loadgenerator.yaml), it is judged."""
    write("config/manager/deploy.yaml", DEPLOYMENT.replace("privileged: true", "privileged: false"))
    write("config/manager/kustomization.yaml", "resources: [deploy.yaml]\n")
    write("config/default/kustomization.yaml", "resources: [../manager]\n#- proxy_patch.yaml\n")
    write("config/default/proxy_patch.yaml", DEPLOYMENT)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")

    def privileged() -> list[str]:
        run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
        findings = json.loads(run.stdout)["findings"]
        # Nor does it count for repository-wide rules (its namespace's NetworkPolicy).
        assert privileged_seen or not [f for f in findings if "proxy_patch" in f["file"]]
        return [f["file"] for f in findings if f["policy_id"] == "K8S-PSS-PRIVILEGED"]

    privileged_seen = False
    assert privileged() == []
    privileged_seen = True
    # Its folder on a line that patches (a loop over `*patch*` files): it keeps them.
    loop = "for f in config/default/*.yaml; do kubectl patch deploy x --patch-file $f; done\n"
    write("hack/patch.sh", loop)
    assert privileged() == ["config/default/proxy_patch.yaml"]
    (tmp_path / "hack/patch.sh").unlink()
    # Named by another deployer's file (a skaffold rawYaml, a Tiltfile): it keeps them.
    write("skaffold.yaml", "manifests:\n  rawYaml: [config/default/proxy_patch.yaml]\n")
    assert privileged() == ["config/default/proxy_patch.yaml"]


def test_a_left_out_patch_stays_left_out_when_another_project_comments_out_its_own(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """A monorepo of kubebuilder projects (kubeflow/manifests: notebook-controller, profiles,
    tensorboard...): each config/default/kustomization.yaml comments out its own
    `#- manager_webhook_patch.yaml`. That line of another project's kustomization names a
    file of its own folder, never this one: this patch is still applied by no one (base: 131
    blocking findings came back). A kustomization line whose path does reach the file keeps
    it judged, commented or not."""
    for project in ("a", "b"):
        write(f"{project}/config/manager/deploy.yaml", DEPLOYMENT.replace("true", "false"))
        write(f"{project}/config/manager/kustomization.yaml", "resources: [deploy.yaml]\n")
        kustomization = "resources: [../manager]\npatchesStrategicMerge:\n#- proxy_patch.yaml\n"
        write(f"{project}/config/default/kustomization.yaml", kustomization)
        write(f"{project}/config/default/proxy_patch.yaml", DEPLOYMENT)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")

    def privileged() -> list[str]:
        run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
        findings = json.loads(run.stdout)["findings"]
        return sorted(f["file"] for f in findings if f["policy_id"] == "K8S-PSS-PRIVILEGED")

    assert privileged() == []
    write("c/kustomization.yaml", "resources: []\n# - ../a/config/default/proxy_patch.yaml\n")
    assert privileged() == ["a/config/default/proxy_patch.yaml"]


def test_a_loop_over_a_folder_s_files_applies_that_folder_s_files(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """kuberay's install/prometheus/install.sh: `pushd "${DIR}/../../config/prometheus"` then
    `for file in *; do kubectl apply -f "${file}"` applies that folder's files; read as "any
    file", it kept every base's view read alone (a namespace no build deploys). The loop's
    words are read from the folder the shell model says it runs in; a folder or a word the
    script computes, a loop at the root, or a variable bound otherwise too still may name
    any file."""
    write("built/deploy.yaml", DEPLOYMENT)
    write("built/kustomization.yaml", KUSTOMIZATION)
    write("config/monitor/pm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n")
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    here = 'DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" > /dev/null && pwd)"\n'

    def pinned() -> list[str]:
        run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
        assert run.returncode in (0, 1), run.stderr
        findings = json.loads(run.stdout)["findings"]
        return [f["file"] for f in findings if f["policy_id"] == "K8S-IMAGE-TAG-PINNED"]

    loop = 'for file in *\ndo\nkubectl apply -f "${file}"\ndone\n'
    for applying in (
        here + 'monitor="${DIR}"/../../config/monitor\npushd "${monitor}"\n' + loop + "popd\n",
        "cd config/monitor\n" + loop,
        "for f in config/monitor/*.yaml; do kubectl apply -f $f; done\n",
        "apply() {\n  cd config/monitor\n  " + loop + "}\napply\n",
    ):
        write("install/monitor/install.sh", applying)
        assert pinned() == [], applying
    for applying in (
        'pushd "$1"\n' + loop,  # a folder the caller gives
        loop,  # the root: any file
        "cd built\n" + loop,
        "for f in $(ls -d */); do kubectl apply -f $f; done\n",
        'cd config/monitor\nfor file in *; do file="../../built/$file"\n'
        'kubectl apply -f "$file"; done\n',
        "cd config/monitor\nfor f in * ../../built; do kubectl apply -f $f; done\n",
        "cd config/monitor\nfor file in *; do :; done\ncd ../../built\nkubectl apply -f $file\n",
    ):
        write("install/monitor/install.sh", applying)
        assert pinned() == ["built/deploy.yaml"], applying


def test_a_filename_word_goes_on_after_its_closing_quote(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """kuberay's preload-image.sh: `kubectl apply -f "${SCRIPT_DIR}"/image-preload-ds.yaml`
    was read up to the closing quote, `${SCRIPT_DIR}` (spelled by another script too: any
    value), so any file: every base's view read alone was kept. The word is the whole shell
    word: the paths ending in `image-preload-ds.yaml`. One that may end in the file's
    folder still keeps its findings."""
    write("built/deploy.yaml", DEPLOYMENT)
    write("built/kustomization.yaml", KUSTOMIZATION)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    here = 'SCRIPT_DIR=$( cd -- "$( dirname -- "${BASH_SOURCE[0]}" )" &> /dev/null && pwd )\n'
    write("hack/other.sh", here + 'echo "${SCRIPT_DIR}"\n')

    def pinned() -> list[str]:
        run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
        assert run.returncode in (0, 1), run.stderr
        findings = json.loads(run.stdout)["findings"]
        return [f["file"] for f in findings if f["policy_id"] == "K8S-IMAGE-TAG-PINNED"]

    for applying, kept in (
        ('kubectl apply -f "${SCRIPT_DIR}"/image-preload-ds.yaml', []),
        ("kubectl apply -f '${SCRIPT_DIR}'/ds.yaml --wait", []),
        ('kubectl apply -f "${SCRIPT_DIR}"/../built/', ["built/deploy.yaml"]),
        ('kubectl apply -f "${SCRIPT_DIR}/../"built/deploy.yaml', ["built/deploy.yaml"]),
        ('kubectl apply -f "${SCRIPT_DIR}"', ["built/deploy.yaml"]),
        ('kubectl apply -f "${SCRIPT_DIR}', ["built/deploy.yaml"]),  # an unclosed quote
    ):
        write("perf/preload.sh", here + applying + "\n")
        assert pinned() == kept, applying
