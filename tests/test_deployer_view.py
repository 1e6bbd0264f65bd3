"""What the check judges is what a deployer applies (issue 10), through the real CLI.

Each case is a change a pull request author could make to get a green check: a privileged Pod
under a name no source claims, a symbolic link, a link out of the repository, a FIFO. All
cases live side by side in one repository, so one `scan` and one `scan --base` cover them;
each case is its own test on that output (file, line and finding code).
"""

from __future__ import annotations

import http.server
import json
import os
import threading
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import git
import pytest

from tests.conftest import PRIVILEGED_POLICY, REPO, Run
from tests.conftest import run_cli as _cli

CONFIG = "builtin: false\npolicies:\n  - path: policies\n"
BUILTIN = ["workflow/imperative-deploy.yaml", "terraform/aws/rds-public.yaml"]
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - name: app
    image: ghcr.io/acme/app:1.0
    securityContext: {privileged: true}
"""
POD_JSON = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad"},
        "spec": {"containers": [{"name": "app", "securityContext": {"privileged": True}}]},
    },
    indent=1,
)
CHART = "apiVersion: v2\nname: c\nversion: 0.1.0\n"
SECRET = "top secret outside the repository\n"


class Link(NamedTuple):
    target: str


Files = dict[str, "str | Link"]
Expected = list[tuple[str, int, str]]  # (file, line, finding code); [] means no finding
CASES: dict[str, tuple[Files, Expected]] = {}
DISK_ONLY: set[str] = set()  # what git cannot hold (a FIFO) or a PR cannot carry


def case(name: str, files: Files, *expected: tuple[str, int, str], disk: bool = False) -> None:
    CASES[name] = (files, list(expected))
    if disk:
        DISK_ONLY.add(name)


PRIVILEGED = "TEST-NO-PRIVILEGED"

# 1. Any YAML/JSON file whose documents are Kubernetes objects, whatever its name.
for weird in [
    "deploy/templates/pod.yaml",
    "deploy/chart.yaml",
    "deploy/Chart.Yaml",
    "deploy/.gatekeeper.yml",
    "deploy/Kustomization.yml",
    "deploy/.pre-commit-config.yaml",
    "charts/values-pod.yaml",
    "deploy/POD.YML",
]:
    case(f"name-{weird.rsplit('/', 1)[-1].lower()}", {weird: POD}, (weird, 8, PRIVILEGED))
for claimed in [  # names other sources own: their objects are judged all the same
    "deploy/compose.yaml",
    "deploy/docker-compose.yml",
    "deploy/action.yml",
    "deploy/tfplan.json",
]:
    case(f"owned-{claimed.rsplit('/', 1)[-1]}", {claimed: POD}, (claimed, 8, PRIVILEGED))
case(
    "owned-gitlab-ci",  # GitLab also says what it makes of it: jobs that are not mappings
    {"deploy/.gitlab-ci.yml": POD},
    ("deploy/.gitlab-ci.yml", 1, "GK-PARSE-ERROR"),
    ("deploy/.gitlab-ci.yml", 2, "GK-PARSE-ERROR"),
    ("deploy/.gitlab-ci.yml", 8, PRIVILEGED),
)
for weird in ["deploy/package.json", "deploy/tsconfig.json"]:
    case(f"name-{weird.rsplit('/', 1)[-1]}", {weird: POD_JSON}, (weird, 12, PRIVILEGED))
case(  # JSON escapes spell the keys: the bytes do not say `apiVersion`, the document does
    "name-escaped-keys",
    {
        "deploy/package.json": POD_JSON.replace("apiVersion", "api\\u0056ersion").replace(
            '"kind"', '"\\u006bind"'
        )
    },
    ("deploy/package.json", 12, PRIVILEGED),
)
case(
    "beside-a-chart",  # kubectl apply -f deploy/ applies pod.yaml; Helm renders only templates/
    {"deploy/Chart.yaml": CHART, "deploy/pod.yaml": POD},
    ("deploy/pod.yaml", 8, PRIVILEGED),
)
case(  # what a real chart renders is judged once, as rendered, never as a raw template
    "chart-template",
    {"c/Chart.yaml": CHART, "c/templates/pod.yaml": POD.replace("bad", "{{ .Release.Name }}")},
    ("c/templates/pod.yaml", 8, PRIVILEGED),
)
case(  # a patch is judged in the overlay it patches, once, wherever below it lives
    "patch-in-subdirectory",
    {
        "k/kustomization.yaml": "resources: [pod.yaml]\npatches:\n- path: overlays/patch.yaml\n",
        "k/pod.yaml": POD.replace("{privileged: true}", "{}"),
        "k/overlays/patch.yaml": POD,
    },
    ("k/overlays/patch.yaml", 8, PRIVILEGED),
)
case(  # other tools' files that hold no objects are no noise
    "other-tools-quiet",
    {
        "web/package.json": '{"name": "web", "version": "1.0.0"}\n',
        "web/tsconfig.json": '{"compilerOptions": {"strict": true}}\n',
        "web/templates/page.yaml": "title: {{ .Title }}\nkind: [\n",
        "web/values-prod.yaml": "replicas: 3\n",
    },
)

# 2. Symbolic links: followed inside the repository, refused outside it.
case(
    "link-to-file",
    {"store/pod.txt": POD, "deploy/pod.yaml": Link("../store/pod.txt")},
    ("deploy/pod.yaml", 8, PRIVILEGED),
)
case(
    "link-chain",
    {
        "store/pod.yaml": POD,
        "store/again.yaml": Link("pod.yaml"),
        "app.yaml": Link("store/again.yaml"),
    },
    ("app.yaml", 8, PRIVILEGED),
    ("store/again.yaml", 8, PRIVILEGED),
    ("store/pod.yaml", 8, PRIVILEGED),
)
case(
    "link-to-directory",
    {"store/pod.yaml": POD, "deploy/linked": Link("../store")},
    ("deploy/linked/pod.yaml", 8, PRIVILEGED),
    ("store/pod.yaml", 8, PRIVILEGED),
)
case(
    "link-outside",
    {"deploy/secret.yaml": Link("{outside}")},
    ("deploy/secret.yaml", 1, "GK-SYMLINK"),
)
case(
    "link-outside-relative",
    {"deploy/secret.yaml": Link("../../../../../../../../../../../../{outside}")},
    ("deploy/secret.yaml", 1, "GK-SYMLINK"),
)
case(
    "link-to-dev-zero",
    {"deploy/zero.yaml": Link("/dev/zero")},
    ("deploy/zero.yaml", 1, "GK-SYMLINK"),
)
case(
    "link-directory-outside",
    {"deploy/etc": Link("{outside_dir}")},
    ("deploy/etc", 1, "GK-SYMLINK"),
)
case(
    "link-loop",
    {"deploy/a.yaml": Link("b.yaml"), "deploy/b.yaml": Link("a.yaml")},
    ("deploy/a.yaml", 1, "GK-READ-ERROR"),
    ("deploy/b.yaml", 1, "GK-READ-ERROR"),
)
case(  # a per-user file each user creates from an example: one low notice per file named
    "link-dangling",
    {
        "envs/dev/terraform.tfvars": Link("../../terraform.tfvars"),
        "envs/prod/terraform.tfvars": Link("../../terraform.tfvars"),
        "envs/prod/pod.yaml": Link("missing.yaml"),
        "terraform.example.tfvars": 'project = "x"\n',
    },
    ("envs/dev/terraform.tfvars", 1, "GK-DANGLING-LINK"),
    ("envs/prod/pod.yaml", 1, "GK-DANGLING-LINK"),
)
case(  # a link out of the repository is refused even where nothing is there
    "link-dangling-outside",
    {"deploy/pod.yaml": Link("{outside_dir}/missing.yaml")},
    ("deploy/pod.yaml", 1, "GK-SYMLINK"),
)
case(
    "link-to-parent",  # walked once, not forever
    {"deploy/pod.yaml": POD, "deploy/again": Link("..")},
    ("deploy/pod.yaml", 8, PRIVILEGED),
)
case(
    "helm-files-get-outside",
    {
        "c/Chart.yaml": CHART,
        "c/files/secret": Link("{outside}"),
        "c/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
        'data:\n  x: {{ .Files.Get "files/secret" | quote }}\n',
    },
    ("c/files/secret", 1, "GK-SYMLINK"),
)
case(
    "kustomize-resource-outside",
    {
        "k/kustomization.yaml": "resources:\n- pod.yaml\n",
        "k/pod.yaml": Link("{outside}"),
    },
    ("k/kustomization.yaml", 2, "GK-RENDER-ERROR"),
    ("k/pod.yaml", 1, "GK-SYMLINK"),
)
case(
    "argocd-path-outside",
    {
        "app.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
        "spec:\n  destination: {server: https://kubernetes.default.svc}\n"
        "  source: {path: argocd-path-outside/apps}\n",
        "apps": Link("{outside_dir}"),
    },
    ("app.yaml", 6, "GK-RENDER-ERROR"),
    ("apps", 1, "GK-SYMLINK"),
)

# 3. What cannot be read is a finding at its path, never a hang.
case("fifo", {"deploy/fifo.yaml": Link("")}, ("deploy/fifo.yaml", 1, "GK-READ-ERROR"), disk=True)

# 4. Rendered output over a limit blocks; it is never dropped.
case(
    "helm-output-over-limit",
    {
        "c/Chart.yaml": CHART,
        "c/values.yaml": "size: 17000000\n",
        "c/templates/pod.yaml": POD + '  annotations: {a: {{ repeat (int .Values.size) "x" }}}\n',
    },
    ("c/Chart.yaml", 1, "GK-RENDER-ERROR"),
)
BIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {a: %s}\n"
case(
    "kustomize-output-over-limit",  # three files under the 8 MiB file limit, built together
    {
        "k/kustomization.yaml": "resources: [a.yaml, b.yaml, c.yaml]\n",
        **{f"k/{n}.yaml": BIG % (i, "x" * 6_000_000) for i, n in enumerate("abc")},
    },
    ("k/kustomization.yaml", 1, "GK-RENDER-ERROR"),
)
case(
    "kustomize-output-too-deep",
    {
        "k/kustomization.yaml": "resources: [pod.yaml]\npatches:\n- path: patch.yaml\n",
        "k/pod.yaml": POD.replace("{privileged: true}", "{}"),
        "k/patch.yaml": POD + "    x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    },
    ("k/kustomization.yaml", 1, "GK-RENDER-ERROR"),
)


# 5. GitLab CI: the jobs of local includes run in the pipeline (the root .gitlab-ci.yml
# includes these, see ROOT).
def _job(name: str, command: str) -> str:
    return f"{name}:\n  stage: deploy\n  script:\n    - echo start\n    - {command}\n"


case(
    "gitlab-include",
    {
        "ci/deploy.yml": _job("deploy", "kubectl apply -f k8s/"),
        "ci/more-helm.yml": "include: {local: gitlab-include/ci/nested.yml}\n"
        + _job("helm", "helm upgrade --install app ./chart"),
        "ci/nested.yml": _job("nested", "kubectl delete namespace prod"),
        "ci/unused.yml": _job("unused", "kubectl apply -f x/"),
    },
    ("ci/deploy.yml", 5, "WF-GITOPS-IMPERATIVE-DEPLOY"),
    ("ci/more-helm.yml", 6, "WF-GITOPS-IMPERATIVE-DEPLOY"),
    ("ci/nested.yml", 5, "WF-GITOPS-IMPERATIVE-DEPLOY"),
)
ROOT = {
    ".gitlab-ci.yml": "stages: [deploy]\ninclude:\n  - local: /gitlab-include/ci/deploy.yml\n"
    "  - 'gitlab-include/ci/more-*.yml'\n  - remote: https://example.invalid/ci.yml\n"
}


# 6. Terraform plans: nothing hides in a second document or in planned_values alone.
def _plan(**fields: Any) -> str:
    return json.dumps({"format_version": "1.2", **fields}, indent=1) + "\n"


PUBLIC_DB = {
    "address": "aws_db_instance.db",
    "mode": "managed",
    "type": "aws_db_instance",
    "name": "db",
}
CHANGES = [{**PUBLIC_DB, "change": {"after": {"publicly_accessible": True}}}]
PLANNED = _plan(
    planned_values={
        "root_module": {"resources": [{**PUBLIC_DB, "values": {"publicly_accessible": True}}]}
    }
)
PUBLIC_LINE = next(n for n, t in enumerate(PLANNED.splitlines(), 1) if "publicly_accessible" in t)
case(
    "plan-second-document",
    {"tfplan.json": _plan(resource_changes=[]) + "---\n" + _plan(resource_changes=CHANGES)},
    ("tfplan.json", 6, "GK-PARSE-ERROR"),
)
case(
    "plan-planned-values-only",
    {"tfplan.json": PLANNED},
    (
        "tfplan.json",
        PUBLIC_LINE,
        "TF-AWS-RDS-PUBLIC",
    ),
)

# 7. No network: every reference is to a local HTTP server that must see no request.
case(
    "helm-schema-urls",
    {
        "c/Chart.yaml": CHART,
        "c/values.schema.json": '{"$schema": "@SERVER@/meta.json",\n'
        ' "properties": {"a": {"$ref": "HTTP://@HOST@/a.json"},\n'
        '  "b": {"$ref": "#/definitions/b"}}, "definitions": {"b": {"type": "string"}}}\n',
        "c/templates/pod.yaml": POD,
    },
    ("c/templates/pod.yaml", 8, PRIVILEGED),
    ("c/values.schema.json", 1, "GK-SCHEMA-NOT-LOADED"),
    ("c/values.schema.json", 2, "GK-SCHEMA-NOT-LOADED"),
)
case(
    "kustomize-remote-forms",
    {
        "k/kustomization.yaml": "resources:\n- HTTP://@HOST@/pod.yaml\n- git::@SERVER@/repo.git\n"
        "- file::@SERVER@/f\n- pod.yaml\npatches:\n- path: @SERVER@/patch.yaml\n"
        "configMapGenerator:\n- name: c\n  files: [k=Https://@HOST@/f]\n",
        "k/pod.yaml": POD,
    },
    ("k/kustomization.yaml", 2, "GK-RENDER-ERROR"),
    ("k/kustomization.yaml", 3, "GK-RENDER-ERROR"),
    ("k/kustomization.yaml", 4, "GK-RENDER-ERROR"),
    ("k/kustomization.yaml", 7, "GK-RENDER-ERROR"),
    ("k/kustomization.yaml", 10, "GK-RENDER-ERROR"),
    ("k/pod.yaml", 8, PRIVILEGED),
)


def _outside(tmp: Path) -> dict[str, str]:
    outside = tmp / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.yaml").write_text(SECRET)
    (outside / "dir" / "pod.yaml").write_text(POD.replace("{", "{ ") + "# " + SECRET)
    return {"outside": str(outside / "secret.yaml"), "outside_dir": str(outside / "dir")}


def _write(root: Path, files: Files, names: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            if content.target:
                os.symlink(content.target.format(**names), path)
            else:
                os.mkfifo(path)
        else:
            path.write_text(
                content.replace("@SERVER@", f"http://{names['host']}").replace(
                    "@HOST@", names["host"]
                )
            )


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A web server on 127.0.0.1 that records every request: a scan must make none."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"type": "object"}')

    def log_message(self, *args: Any) -> None:
        pass


class Scans(NamedTuple):
    scan: Run
    change: Run
    hits: list[str]


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Scans:
    tmp = tmp_path_factory.mktemp("deployer")
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return _scans(tmp, {**_outside(tmp), "host": f"127.0.0.1:{server.server_port}"})
    finally:
        server.shutdown()
        server.server_close()


def _scans(tmp: Path, names: dict[str, str]) -> Scans:
    root = tmp / "repo"
    repo = _repo(root)
    policies = {
        "policies/p.yaml": PRIVILEGED_POLICY,
        **{f"policies/{name}": (REPO / "policies" / name).read_text() for name in BUILTIN},
    }
    _write(root, {".gatekeeper.yml": CONFIG, **policies}, names)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "base")
    repo.git.checkout("-q", "-b", "pr")
    _write(root, ROOT, names)
    for name, (files, _) in CASES.items():
        if name not in DISK_ONLY:
            _write(root / name, files, names)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "the change")
    change = _cli("scan", "--base", "main", "--format", "json", cwd=root)
    for name in DISK_ONLY:
        _write(root / name, CASES[name][0], names)
    return Scans(_cli("scan", "--format", "json", cwd=root), change, _Recorder.hits)


def _found(run: Run) -> list[dict[str, Any]]:
    assert "Traceback" not in run.stderr, run.stderr
    findings: list[dict[str, Any]] = json.loads(run.stdout)["findings"]
    return findings


def _check(name: str, run: Run) -> None:
    findings = _found(run)
    mine = sorted(
        (f["file"], f["line"], f["policy_id"]) for f in findings if f["file"].startswith(f"{name}/")
    )
    wanted = sorted((f"{name}/{file}", line, code) for file, line, code in CASES[name][1])
    assert mine == wanted
    for finding in findings:
        assert "top secret" not in json.dumps(finding), finding  # never read, never shown


def test_every_bypass_blocks(scans: Scans) -> None:
    assert scans.scan.returncode == 1, scans.scan.stderr
    assert scans.change.returncode == 1, scans.change.stderr


def test_no_scan_makes_a_network_request(scans: Scans) -> None:
    assert scans.hits == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_scan_judges_what_a_deployer_applies(name: str, scans: Scans) -> None:
    _check(name, scans.scan)


@pytest.mark.parametrize("name", sorted(set(CASES) - DISK_ONLY))
def test_change_judges_what_a_deployer_applies(name: str, scans: Scans) -> None:
    _check(name, scans.change)
    statuses = {f["status"] for f in _found(scans.change) if f["file"].startswith(f"{name}/")}
    assert statuses <= {"new"}


def test_a_directory_that_cannot_be_listed_is_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests run as root, who can list anything: the refusal is simulated where it happens."""
    from gatekeeper import main

    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "pod.yaml").write_text(POD)
    (tmp_path / "open").mkdir()
    real_scandir, real_listdir = os.scandir, os.listdir

    def refuse(path: Any) -> Any:
        if str(path).rstrip("/").endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def refuse_list(path: Any) -> Any:
        if str(path).rstrip("/").endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    monkeypatch.setattr(os, "listdir", refuse_list)
    monkeypatch.chdir(tmp_path)
    assert main.main(["scan", "--no-builtin", "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["file"], f["line"], f["policy_id"], f["message"]) for f in findings] == [
        ("locked", 1, "GK-READ-ERROR", "cannot read: Permission denied")
    ]


def _repo(root: Path) -> git.Repo:
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "test")
        config.set_value("user", "email", "test@example.com")
        config.set_value("commit", "gpgsign", "false")
    return repo


def test_a_submodule_a_change_adds_is_reported(tmp_path: Path) -> None:
    """Argo CD checks submodules out and applies their files; a change can't be judged on
    files that live in another repository, so adding one blocks."""
    vendored = _repo(tmp_path / "vendored")
    (tmp_path / "vendored" / "pod.yaml").write_text(POD)
    vendored.git.add("-A")
    vendored.git.commit("-q", "-m", "pods")
    root = tmp_path / "repo"
    repo = _repo(root)
    (root / "policies").mkdir()
    (root / "policies" / "p.yaml").write_text(PRIVILEGED_POLICY)
    (root / ".gatekeeper.yml").write_text(CONFIG)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "base")
    repo.git.checkout("-q", "-b", "pr")
    repo.git.execute(
        ["git", "-c", "protocol.file.allow=always", "submodule", "-q", "add",
         str(tmp_path / "vendored"), "deploy/vendor"],
    )  # fmt: skip
    repo.git.commit("-q", "-m", "vendor pods")
    run = _cli("scan", "--base", "main", "--format", "json", cwd=root)
    assert run.returncode == 1, run.stderr
    found = [(f["file"], f["line"], f["policy_id"], f["status"]) for f in _found(run)]
    assert found == [("deploy/vendor", 1, "GK-READ-ERROR", "new")]


def test_a_change_to_a_link_target_is_judged_at_the_link(tmp_path: Path) -> None:
    """The PR changes only `store/pod.txt` (no YAML name: nothing applies it as itself); the
    unchanged link `deploy/pod.yaml` that leads to it is what the deployer applies."""
    root = tmp_path / "repo"
    repo = _repo(root)
    (root / "policies").mkdir()
    (root / "policies" / "p.yaml").write_text(PRIVILEGED_POLICY)
    (root / ".gatekeeper.yml").write_text(CONFIG)
    (root / "store").mkdir()
    (root / "store" / "pod.txt").write_text(POD.replace("{privileged: true}", "{}"))
    (root / "deploy").mkdir()
    os.symlink("../store/pod.txt", root / "deploy" / "pod.yaml")
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "base")
    repo.git.checkout("-q", "-b", "pr")
    (root / "store" / "pod.txt").write_text(POD)
    repo.git.commit("-q", "-am", "privileged")
    run = _cli("scan", "--base", "main", "--format", "json", cwd=root)
    assert run.returncode == 1, run.stderr
    found = [(f["file"], f["line"], f["policy_id"], f["status"]) for f in _found(run)]
    assert found == [("deploy/pod.yaml", 8, PRIVILEGED, "new")]


def test_a_packaged_subchart_schema_is_not_fetched(tmp_path: Path) -> None:
    import io
    import tarfile

    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_port}"
    _Recorder.hits.clear()
    sub = {
        "sub/Chart.yaml": CHART.replace("name: c", "name: sub"),
        "sub/values.schema.json": f'{{"$ref": "http://{host}/sub.json"}}\n',
        "sub/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n",
    }
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, text in sub.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    (tmp_path / "c" / "charts").mkdir(parents=True)
    (tmp_path / "c" / "charts" / "sub-0.1.0.tgz").write_bytes(archive.getvalue())
    (tmp_path / "c" / "Chart.yaml").write_text(
        CHART + "dependencies:\n- {name: sub, version: 0.1.0}\n"
    )
    try:
        run = _cli("scan", "--no-builtin", "--format", "json", cwd=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.hits == []
    found = {(f["file"], f["line"], f["policy_id"]) for f in _found(run)}
    assert ("c/charts/sub-0.1.0.tgz", 1, "GK-RENDER-ERROR") in found
