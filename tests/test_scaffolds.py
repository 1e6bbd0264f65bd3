"""Templates of project generators (boilerplate, cookiecutter, copier): said once, at the
tool's marker file, where their template actions make them invalid as written; a marker file
hides nothing that is valid as written (session 18: gruntwork's modules example had a high
blocking GK-PARSE-ERROR at `.boilerplate/terragrunt.hcl`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import gatekeeper

TERRAGRUNT_TEMPLATE = (
    'terraform {\n  source = "{{ .sourceUrl }}"\n}\n'
    "inputs = {\n"
    "  {{ range .requiredVariables }}\n"  # 5
    "  {{ .Name }} = {{ .DefaultValuePlaceholder }}\n"
    "  {{ end }}\n"
    "}\n"
)
TF_TEMPLATE = 'resource "aws_s3_bucket" "b" {\n  {{ if .Versioned }}\n  bucket = "x"\n}\n'
PRIVILEGED = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n"
    "  - name: c\n    image: nginx:1.27\n    securityContext:\n      privileged: true\n"
)
YAML_TEMPLATE = "{% if cookiecutter.debug %}\napiVersion: v1\nkind: Pod\n{% endif %}\n: [\n"


def scan(root: Path, files: dict[str, str]) -> list[tuple[str, str, int, str]]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted(
        (f.policy_id, f.severity, f.line, f.file)
        for f in report.verdict.findings
        if f.policy_id.startswith("GK-") or f.policy_id == "K8S-PSS-PRIVILEGED"
    )


def test_a_boilerplate_template_is_one_notice_at_its_marker(tmp_path: Path) -> None:
    """Go template actions in terragrunt.hcl, a .tf and a manifest of one boilerplate
    template: one low notice at boilerplate.yml, no blocking parse error; a partial it
    lists (`{{- define }}` in a folder without a marker) is said there too."""
    found = scan(
        tmp_path,
        {
            "modules/svc/.boilerplate/boilerplate.yml": "partials:\n  - ../../layouts/*.hcl\n",
            "modules/layouts/terragrunt.hcl": '{{- define "inputs" }}\ninputs = {}\n{{ end }}\n',
            "modules/svc/.boilerplate/terragrunt.hcl": TERRAGRUNT_TEMPLATE,
            "modules/svc/.boilerplate/sub/main.tf": TF_TEMPLATE,
            "modules/svc/.boilerplate/pod.yaml": "{{ if .X }}\n" + YAML_TEMPLATE,
        },
    )
    marker = "modules/svc/.boilerplate/boilerplate.yml"
    assert found == [("GK-TEMPLATE", "low", 1, marker), ("GK-TEMPLATE", "low", 1, marker)]


def test_a_cookiecutter_template_is_one_notice_at_its_marker(tmp_path: Path) -> None:
    found = scan(
        tmp_path,
        {
            "cookiecutter.json": '{"project_slug": "app", "debug": false}\n',
            "{{cookiecutter.project_slug}}/k8s/pod.yaml": YAML_TEMPLATE,
            "{{cookiecutter.project_slug}}/infra/main.tf": TF_TEMPLATE,
        },
    )
    assert found == [("GK-TEMPLATE", "low", 1, "cookiecutter.json")]


def test_a_marker_hides_nothing_valid_as_written(tmp_path: Path) -> None:
    """The attack: a pull request adds copier.yml, cookiecutter.json or boilerplate.yml
    beside deploy/ (applied by an Argo CD outside the repository) and `{{ }}` into its
    manifests. What is valid as written is judged; a parse error a template action does not
    cause, or outside the tool's layout, still blocks."""
    found = scan(
        tmp_path,
        {
            "copier.yml": "name:\n  type: str\n",
            "cookiecutter.json": '{"name": "x"}\n',
            "deploy/boilerplate.yml": "variables: []\n",
            "deploy/pod.yaml": "# {{ .Name }}\n" + PRIVILEGED.format(name='"{{ .Name }}"'),
            "deploy/main.tf": '# {{ .X }}\nresource "aws_s3_bucket" "b" {\n  bucket = \n}\n',
            "apps/pod.yaml": YAML_TEMPLATE,  # no generator folder: copier, cookiecutter
            "apps/main.tf": TF_TEMPLATE,
        },
    )
    assert found == [
        ("GK-PARSE-ERROR", "high", 1, "apps/pod.yaml"),
        ("GK-PARSE-ERROR", "high", 2, "apps/main.tf"),
        ("GK-PARSE-ERROR", "high", 3, "deploy/main.tf"),
        ("K8S-PSS-PRIVILEGED", "critical", 11, "deploy/pod.yaml"),
    ]


DEPENDABOT_TEMPLATE = (
    "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n"
    "{%- if cookiecutter.use_docker == 'y' %}\n"  # 5: a Jinja block, no `{{` in the file
    "  - package-ecosystem: docker\n    directory: /\n{%- endif %}\n"
)


def test_a_template_that_cannot_spell_an_object_is_in_the_scaffolds_notice(
    tmp_path: Path,
) -> None:
    """cookiecutter-django's `.github/dependabot.yml`: invalid as written at a `{%- if %}`
    line, with no `{{` and nothing of apiVersion or kind, so read as GK-NOT-A-MANIFEST: a
    second notice of its own beside the scaffold's one. Outside a scaffold's layout it is
    still said where it is."""
    found = scan(
        tmp_path,
        {
            "cookiecutter.json": '{"project_slug": "app", "use_docker": "y"}\n',
            "{{cookiecutter.project_slug}}/.github/dependabot.yml": DEPENDABOT_TEMPLATE,
            "{{cookiecutter.project_slug}}/k8s/pod.yaml": YAML_TEMPLATE,
            "other/dependabot.yml": DEPENDABOT_TEMPLATE,
        },
    )
    assert found == [
        ("GK-NOT-A-MANIFEST", "low", 5, "other/dependabot.yml"),
        ("GK-TEMPLATE", "low", 1, "cookiecutter.json"),
    ]
